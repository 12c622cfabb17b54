// Server-Sent Events over fetch (EventSource cannot send the Authorization header).
import { request } from './api';

export interface LiveFrame {
  events: import('./types').LiveEvent[];
  dropped: number;
}

/** Read `/v1/live` until `signal` aborts, reconnecting after each stream ends or fails. */
export async function follow(app: string, onFrame: (f: LiveFrame) => void, onStatus: (s: string) => void, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const response = await request(`/v1/live?app_id=${encodeURIComponent(app)}`, { signal });
      onStatus('live');
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = frame.split('\n');
          const kind = lines.find((l) => l.startsWith('event: '))?.slice(7);
          const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (kind === 'events' && data) onFrame(JSON.parse(data) as LiveFrame);
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      onStatus(`reconnecting (${e instanceof Error ? e.message : e})`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
