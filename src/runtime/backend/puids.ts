// Run-time process ids (puids) start above any pid, so they never collide
// with a pid-derived owner id in a pool. The head gets the first.
export const FIRST_PUID = 2 ** 32;
