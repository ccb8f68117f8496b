/**
 * Every model of the registry. Adding a model is one file that calls `registerModel` plus one import here.
 */
import './pop.js';
import './itemknn.js';
import './mf.js';
import './lightgcn.js';
import './gat.js';
import './gfcf.js';
import './bspm.js';
import './mmgat.js';
import './ease.js';
import './rp3beta.js';

export { getModel, listModels, resolveParams } from './registry.js';
export type { ModelSpec, Recommender, FitContext, Params, EpochReport } from './model.js';
