// The head process starts a few processes that each print a greeting, and
// waits for them. The workers run greet() from this same file: the head's
// code below runs only where this file is the main module.
//   dragon examples/hello.mjs [count]
//   dragon --label examples/hello.mjs 8      (each line prefixed with [host:puid])
import { fileURLToPath } from 'node:url';
import { Process, currentProcess } from 'dragonhpc';

export function greet(i, count) {
  const me = currentProcess();
  console.log(`hello from process ${i + 1} of ${count} (puid ${me.puid}, pid ${me.pid})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const count = Number(process.argv[2] ?? 3);
  if (currentProcess().puid === undefined) {
    console.log('hello from plain node: run `dragon examples/hello.mjs` to start processes');
  } else {
    console.log(`the head (puid ${currentProcess().puid}) starts ${count} processes`);
    const procs = Array.from({ length: count }, (_, i) => new Process({ module: new URL(import.meta.url), fn: 'greet', args: [i, count] }));
    await Promise.all(procs.map((p) => p.start()));
    const codes = await Promise.all(procs.map((p) => p.join()));
    console.log(`all done, exit codes ${codes.join(' ')}`);
  }
}
