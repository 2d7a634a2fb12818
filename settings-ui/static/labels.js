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
