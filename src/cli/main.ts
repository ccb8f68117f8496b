import { Command, CommanderError } from 'commander';
import { codeVersion } from '../lake/manifest.js';
import { reportError, type GlobalOptions } from './output.js';
import { registerDataCommands } from './data.js';
import { registerPipelineCommands } from './pipeline.js';
import { registerConfigCommands } from './config.js';
import { registerTrainCommands } from './train.js';
import { registerRunsCommands } from './runs.js';
import { registerEmbedCommands } from './embed.js';
import { registerAnalyticsCommands } from './analytics.js';
import { registerIndexCommands } from './index-cmd.js';
import { registerServeCommand } from './serve.js';
import { registerGraphCommands } from './graph.js';
import { registerColdStartCommands } from './cold-start.js';
import { registerAblateCommands } from './ablate.js';
import { registerTuneCommands } from './tune.js';

/** The `plotpointe` command: a thin layer that parses flags and calls a stage. One file per command group. */
export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('plotpointe')
    .description('PlotPointe: a multimodal graph-neural-network recommender, from raw review data to a live API.')
    .version(codeVersion().version)
    .option('--json', 'print one JSON object as the last stdout line')
    .option('--debug', 'print stack traces with errors')
    .option('--quiet', 'no progress output')
    .option('--config <file>', 'a JSON config file (see plotpointe config docs); flags override it')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
  registerDataCommands(program, setExit);
  registerPipelineCommands(program, setExit);
  registerTrainCommands(program, setExit);
  registerConfigCommands(program, setExit);
  registerRunsCommands(program, setExit);
  registerEmbedCommands(program, setExit);
  registerAnalyticsCommands(program, setExit);
  registerIndexCommands(program, setExit);
  registerServeCommand(program, setExit);
  registerGraphCommands(program, setExit);
  registerColdStartCommands(program, setExit);
  registerAblateCommands(program, setExit);
  registerTuneCommands(program, setExit);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  let exit = 0;
  const program = buildProgram((c) => (exit = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exit;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      const globals: GlobalOptions = { json: argv.includes('--json'), debug: argv.includes('--debug') };
      process.stderr.write(`error PP_USAGE: ${err.message.replace(/^error: /, '')}\n`);
      if (globals.json) process.stdout.write(JSON.stringify({ error: { code: 'PP_USAGE', message: err.message } }) + '\n');
      return 2;
    }
    return reportError(err, { debug: argv.includes('--debug'), json: argv.includes('--json') });
  }
}
