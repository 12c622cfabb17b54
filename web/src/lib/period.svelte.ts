// The report period from the URL, with defaults (the first app, the last 30 days).
import { param } from './router.svelte';
import { session } from './session.svelte';
import { addDays, today } from './dates';
import type { Period } from './reports';

export function currentPeriod(): Period {
  return {
    app: param('app', session.apps[0]?.app_id ?? ''),
    from: param('from', addDays(today(), -29)),
    to: param('to', today()),
  };
}
