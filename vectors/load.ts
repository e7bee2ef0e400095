// Reads the public test vectors kept in this folder (each file names its sources;
// see README.md here). Tests and benchmarks read them through this module only, so
// a clone of the repository needs nothing beside it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = __dirname;

/** A JSON vector file of this folder, parsed; its shape is checked by the test that uses it. */
// biome-ignore lint/suspicious/noExplicitAny: each test reads the fields it checks
export function loadVectors(file: string): any {
  return JSON.parse(readFileSync(join(DIR, file), 'utf8'));
}

/** A text vector file of this folder (the MTProto .tl schema). */
export function vectorText(file: string): string {
  return readFileSync(join(DIR, file), 'utf8');
}
