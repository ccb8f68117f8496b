/**
 * Regenerates the README's CLI reference and configuration table from the code (commander's command tree
 * and the config schema), between the `<!-- cli:start -->`/`<!-- cli:end -->` and
 * `<!-- config:start -->`/`<!-- config:end -->` markers: `npm run docs`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/main.js';
import { configDocs } from '../src/config/load.js';

function describe(cmd: Command, path: string[], out: string[]): void {
  const name = [...path, cmd.name()].join(' ');
  if (cmd.commands.length === 0) {
    const args = cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`)).join(' ');
    out.push(`### \`${name}${args ? ' ' + args : ''}\``, '', cmd.description(), '');
    const opts = cmd.options.filter((o) => o.long !== '--help');
    if (opts.length) {
      out.push('| option | meaning |', '|---|---|');
      for (const o of opts) {
        const def = o.defaultValue !== undefined && o.defaultValue !== true ? ` (default \`${String(o.defaultValue)}\`)` : '';
        out.push(`| \`${o.flags}\`${o.mandatory ? ' (required)' : ''} | ${o.description.replace(/\|/g, '\\|')}${def} |`);
      }
      out.push('');
    }
  }
  for (const sub of cmd.commands) if (sub.name() !== 'help') describe(sub, [...path, cmd.name()], out);
}

const program = await buildProgram(() => {});
const lines: string[] = [];
for (const c of program.commands) if (c.name() !== 'help') describe(c, ['plotpointe'], lines);
const replace = (text: string, tag: string, body: string) =>
  text.replace(new RegExp(`<!-- ${tag}:start -->[\\s\\S]*<!-- ${tag}:end -->`), `<!-- ${tag}:start -->\n${body}\n<!-- ${tag}:end -->`);
let readme = readFileSync('README.md', 'utf8');
readme = replace(readme, 'cli', lines.join('\n').trimEnd());
readme = replace(readme, 'config', configDocs());
writeFileSync('README.md', readme);
console.log(JSON.stringify({ commands: lines.filter((l) => l.startsWith('### ')).length }));
