// Words and colours for the values the API sends, shared by the pages.

const KINDS = {
  embedded: 'Embedded',
  remote_http: 'Remote (HTTP)',
  local_compat: 'Local, read-only',
};

/** A human name for a source kind; an unknown kind is shown as sent. */
export function kindLabel(kind) {
  return Object.hasOwn(KINDS, kind) ? KINDS[kind] : String(kind ?? 'unknown');
}

/** Badge tone of a runtime status. */
export function statusTone(status) {
  switch (status) {
    case 'ready': return 'ok';
    case 'degraded': return 'warn';
    case 'unavailable': return 'bad';
    default: return 'neutral';
  }
}

/** Badge tone of a worker state. */
export function workerStateTone(state) {
  switch (state) {
    case 'idle': return 'ok';
    case 'busy': return 'info';
    case 'stopped': return 'neutral';
    case 'failed': return 'bad';
    default: return 'neutral';
  }
}

/** Every worker state, in the order filters and counts list them. */
export const WORKER_STATES = ['idle', 'busy', 'stopped', 'failed'];

/**
 * What runs a worker, in a few words: "Echo (not a model)" for the echo executor, else the model and its
 * executor, so nobody takes an echo for a model.
 */
export function executorLabel({ executor, model }) {
  if (executor === 'echo') return 'Echo (not a model)';
  if (model) return `${model} via ${executor ?? 'unknown executor'}`;
  return executor ?? 'unknown executor';
}

/** Words of each busy policy (`when_busy`), as people say them. */
export const BUSY_CHOICES = [
  { value: 'reject', label: 'Refuse while busy', hint: 'The message is not sent while a reply is running.' },
  { value: 'queue', label: 'Wait in line', hint: 'The message waits and runs after the current reply.' },
  { value: 'interrupt', label: 'Interrupt', hint: 'The current reply is cut off and this message runs now.' },
];

/** How a turn ended, in words. */
export const OUTCOMES = {
  completed: 'Completed',
  cancelled: 'Cancelled',
  interrupted: 'Interrupted',
  failed: 'Failed',
};
