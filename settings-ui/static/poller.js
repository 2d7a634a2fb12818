// Polling that keeps a page live without flooding the backend: one call at a time, a steady pause after a
// call that worked, a pause that doubles after each one that failed, and nothing while the tab is hidden.

/**
 * Runs `task` at once and again `interval` ms after each run settles. A run that throws (or returns false)
 * doubles the pause, up to `max`; the next that works brings it back to `interval`. Returns `{ stop, now }`:
 * `now()` runs the task at once (after the run in flight, if any) and restarts the wait.
 */
export function poll(task, { interval = 4_000, max = 30_000 } = {}) {
  let pause = interval;
  let timer = null;
  let running = false;
  let again = false;
  let stopped = false;

  async function run() {
    timer = null;
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    let ok = true;
    try {
      ok = (await task()) !== false;
    } catch {
      ok = false;
    }
    running = false;
    if (stopped) return;
    pause = ok ? interval : Math.min(pause * 2, max);
    if (again) {
      again = false;
      run();
    } else {
      schedule();
    }
  }

  function schedule() {
    if (stopped || timer !== null) return;
    // A hidden tab is looked at again when it is shown.
    if (document.hidden) return;
    timer = setTimeout(run, pause);
  }

  function onVisibility() {
    if (!document.hidden && timer === null && !running) run();
    else if (document.hidden && timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
  }
  document.addEventListener('visibilitychange', onVisibility);
  run();

  return {
    now() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      run();
    },
    stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    },
  };
}
