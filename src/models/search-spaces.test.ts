import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listModels } from './index.js';
import { DEFAULT_SEARCH_SPACES } from './search-spaces.js';
import { resolveSpace } from '../orchestration/search/space.js';

test('every registered model has a default search space, in its own param names and ranges', () => {
  for (const m of listModels()) {
    assert.ok(DEFAULT_SEARCH_SPACES[m.name], `${m.name} has a default space`);
    if (Object.keys(DEFAULT_SEARCH_SPACES[m.name]!).length === 0) continue; // pop: nothing to search
    assert.doesNotThrow(() => resolveSpace(m.name), m.name);
    assert.ok(!('epochs' in DEFAULT_SEARCH_SPACES[m.name]!), `${m.name}: epochs are stopped on valid, not searched`);
  }
  for (const name of Object.keys(DEFAULT_SEARCH_SPACES)) assert.ok(listModels().some((m) => m.name === name), `${name} is a registered model`);
});
