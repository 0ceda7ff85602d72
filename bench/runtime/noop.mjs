// The process both benchmarks start: nothing to do, so what is measured is
// the cost of starting and ending a process. As a Process target: fn 'noop';
// for child_process.fork: run as the main module.
export function noop() {}
