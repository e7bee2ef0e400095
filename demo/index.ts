// npm run demo: what telegram-mt can do so far. It grows with the library:
// once TestDc and the session registry land, this starts TestDc, opens
// sessions, creates keys and sends calls.
import * as mt from '../bindings';

function main(): void {
  const exported = Object.keys(mt).sort();
  console.log(`telegram-mt native module loaded: ${exported.length} exports`);
  console.log(`  ${exported.join(', ')}`);
}

main();
