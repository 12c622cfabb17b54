// ECharts, tree-shaken: only the charts and components the dashboard draws.
import * as echarts from 'echarts/core';
import { BarChart, HeatmapChart, LineChart } from 'echarts/charts';
import {
  GridComponent,
  LegendComponent,
  TooltipComponent,
  VisualMapComponent,
  DataZoomInsideComponent,
} from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([
  BarChart,
  HeatmapChart,
  LineChart,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  VisualMapComponent,
  DataZoomInsideComponent,
  CanvasRenderer,
]);

export { echarts };

export const PALETTE = ['#6366f1', '#14b8a6', '#f59e0b', '#ec4899', '#0ea5e9', '#84cc16', '#f97316', '#8b5cf6', '#64748b', '#ef4444'];

/** Axis and text colours for the current theme. */
export function themeColors(dark: boolean) {
  return {
    text: dark ? '#cbd5e1' : '#475569',
    muted: dark ? '#64748b' : '#94a3b8',
    grid: dark ? '#1e293b' : '#e2e8f0',
    tooltipBg: dark ? '#0f172a' : '#ffffff',
    tooltipBorder: dark ? '#334155' : '#e2e8f0',
  };
}
