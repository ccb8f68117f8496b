import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram, COMMAND_GROUPS, commandNameOf } from './main.js';

const names = (p: { commands: readonly { name(): string }[] }) => p.commands.map((c) => c.name());

test('the command groups table lists every top-level command of the full program, in help order', async () => {
  const full = await buildProgram(() => undefined);
  assert.deepEqual(names(full), COMMAND_GROUPS.flatMap((g) => g.commands));
});

test('a command of a self-contained group builds a program with that group alone, exactly its listed commands', async () => {
  for (const g of COMMAND_GROUPS.filter((x) => !x.needsAll)) {
    for (const c of g.commands) assert.deepEqual(names(await buildProgram(() => undefined, c)), g.commands, c);
  }
});

test('pipeline, worker and demo (which check the step commands of the checkout), unknown names and no name get every group', async () => {
  const all = COMMAND_GROUPS.flatMap((g) => g.commands);
  for (const only of ['pipeline', 'worker', 'demo', 'nope', null]) assert.deepEqual(names(await buildProgram(() => undefined, only)), all, String(only));
});

test('the command name is the first word that is neither an option nor the value of --config', () => {
  assert.equal(commandNameOf(['embed', 'text', '--lake', 'l']), 'embed');
  assert.equal(commandNameOf(['--json', '--config', 'c.json', 'train', '--model', 'pop']), 'train');
  assert.equal(commandNameOf(['--quiet']), null);
  assert.equal(commandNameOf([]), null);
});
