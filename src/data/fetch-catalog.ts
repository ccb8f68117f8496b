import { ppError } from '../errors.js';

/**
 * Where the public datasets live, for `plotpointe data fetch` on a machine with internet access.
 *
 * A target is named `dataset` or `dataset:variant`, e.g. `amazon2014:Electronics`, `amazon2018:Industrial_and_Scientific`,
 * `movielens:ml-100k`, `gowalla`. Each file has a `relPath` under the dataset's published `base` URL; a mirror
 * (or a test server, via `baseUrlOverride`) serves the same relative paths under its own prefix.
 * Sizes and checksums are given only where they are known from a verified copy; the rest stay undefined.
 */

/** Amazon review data 2014 (McAuley et al., SIGIR 2015 / WWW 2016): the 24 categories with a 5-core file. */
export const AMAZON_2014_CATEGORIES = [
  'Books',
  'Electronics',
  'Movies_and_TV',
  'CDs_and_Vinyl',
  'Clothing_Shoes_and_Jewelry',
  'Home_and_Kitchen',
  'Kindle_Store',
  'Sports_and_Outdoors',
  'Cell_Phones_and_Accessories',
  'Health_and_Personal_Care',
  'Toys_and_Games',
  'Video_Games',
  'Tools_and_Home_Improvement',
  'Beauty',
  'Apps_for_Android',
  'Office_Products',
  'Pet_Supplies',
  'Automotive',
  'Grocery_and_Gourmet_Food',
  'Patio_Lawn_and_Garden',
  'Baby',
  'Digital_Music',
  'Musical_Instruments',
  'Amazon_Instant_Video',
] as const;

/** Amazon review data 2018 (Ni, Li, McAuley, EMNLP 2019): the 29 per-category files. */
export const AMAZON_2018_CATEGORIES = [
  'AMAZON_FASHION',
  'All_Beauty',
  'Appliances',
  'Arts_Crafts_and_Sewing',
  'Automotive',
  'Books',
  'CDs_and_Vinyl',
  'Cell_Phones_and_Accessories',
  'Clothing_Shoes_and_Jewelry',
  'Digital_Music',
  'Electronics',
  'Gift_Cards',
  'Grocery_and_Gourmet_Food',
  'Home_and_Kitchen',
  'Industrial_and_Scientific',
  'Kindle_Store',
  'Luxury_Beauty',
  'Magazine_Subscriptions',
  'Movies_and_TV',
  'Musical_Instruments',
  'Office_Products',
  'Patio_Lawn_and_Garden',
  'Pet_Supplies',
  'Prime_Pantry',
  'Software',
  'Sports_and_Outdoors',
  'Tools_and_Home_Improvement',
  'Toys_and_Games',
  'Video_Games',
] as const;

export interface FetchFile {
  /** Full URL at the primary location (`base` + `relPath`). */
  url: string;
  /** Path relative to the dataset's base URL: what a mirror or `baseUrlOverride` serves. */
  relPath: string;
  /** File name written into the output folder. */
  file: string;
  /** Size in bytes when known from a verified copy. */
  bytes?: number;
  /** SHA-256 (hex) when known from a verified copy. */
  sha256?: string;
  /** `zip`: extract into the output folder after the download. */
  extract?: 'zip';
}

export interface FetchTarget {
  /** Canonical target name, e.g. `amazon2014:Electronics`. */
  id: string;
  /** What it is, one line. */
  title: string;
  /** The `--format` of `plotpointe data ingest` for these files. */
  format: string;
  /** Where the dataset and its terms are described. */
  homepage: string;
  /** Publication to cite. */
  citation: string;
  /** Published base URL of the files (ends with `/`). */
  base: string;
  /** Other published locations serving the same `relPath`s (each ends with `/`), tried in order after `base`. */
  mirrors: string[];
  files: FetchFile[];
  /** Paths relative to the output folder to hand to ingest, after extraction. */
  ingestInputs: string[];
}

/** One dataset of the catalog, for listings (`plotpointe data fetch --list`). */
export interface CatalogEntry {
  /** Dataset name, the part before `:`. */
  name: string;
  title: string;
  format: string;
  homepage: string;
  /** Allowed variants (`name:variant`); empty when the dataset has none. */
  variants: readonly string[];
  /** Variant used when none is given, if any. */
  defaultVariant?: string;
  /** An example target. */
  example: string;
}

interface DatasetDef extends CatalogEntry {
  aliases: readonly string[];
  /** Variants are also targets on their own (`ml-100k` = `movielens:ml-100k`). */
  variantsAreTargets?: boolean;
  build(variant: string | undefined): FetchTarget;
}

function fileAt(base: string, relPath: string, known: { bytes?: number; sha256?: string; extract?: 'zip' } = {}): FetchFile {
  const file = relPath.slice(relPath.lastIndexOf('/') + 1);
  return { url: base + relPath, relPath, file, ...known };
}

const AMAZON_2014_BASE = 'https://snap.stanford.edu/data/amazon/productGraph/categoryFiles/';
const AMAZON_2014_MIRRORS = ['https://mcauleylab.ucsd.edu/public_datasets/data/amazon/categoryFiles/'];
const AMAZON_2018_BASE = 'https://jmcauley.ucsd.edu/data/amazon_v2/';
const AMAZON_2018_MIRRORS = [
  'https://mcauleylab.ucsd.edu/public_datasets/data/amazon_v2/',
  'https://datarepo.eng.ucsd.edu/mcauley_group/data/amazon_v2/',
  'http://deepyeti.ucsd.edu/jianmo/amazon/',
];
const MOVIELENS_BASE = 'https://files.grouplens.org/datasets/movielens/';
const GOWALLA_BASE = 'https://raw.githubusercontent.com/kuandeng/LightGCN/master/Data/gowalla/';

/**
 * Gowalla (NGCF/LightGCN split): sizes and SHA-256 of the copy in the project's shared datasets, whose git blob
 * SHA-1s equal those in kuandeng/LightGCN Data/gowalla/ (see shared/datasets/gowalla/SOURCE.txt), so the raw
 * files served from GitHub are byte-identical.
 */
const GOWALLA_FILES: ReadonlyArray<[string, number, string]> = [
  ['train.txt', 4_633_414, '7244696fdeb23911319cf7b689f2e15a3c4c92549c873a5677b44e3f13cc3e62'],
  ['test.txt', 1_372_559, '099a2a73924e4b754dc6efd730d764f492321b53c38eb93298850c83acf57be3'],
  ['user_list.txt', 351_203, '5344c4d0deef610e1f148f23ad216a0db03b36f88834cd39a06786a672c5f5a1'],
  ['item_list.txt', 506_926, '6b186f92890cc3f0c15a6dae5d6285f125a302bb8c5ea0cd9a16cf9c16347139'],
];

const MOVIELENS_VARIANTS: Readonly<Record<string, { title: string; inputs: string[] }>> = {
  'ml-latest-small': {
    title: 'MovieLens latest, small (≈100k ratings, 9k movies; updated over time)',
    inputs: ['ml-latest-small/ratings.csv', 'ml-latest-small/movies.csv'],
  },
  'ml-100k': {
    title: 'MovieLens 100K (100,000 ratings, 943 users, 1,682 movies; 1998)',
    inputs: ['ml-100k/u.data', 'ml-100k/u.item'],
  },
};

const DATASETS: readonly DatasetDef[] = [
  {
    name: 'amazon2014',
    aliases: ['amazon-2014'],
    title: 'Amazon review data 2014: 5-core reviews and item metadata of one category',
    format: 'amazon2014',
    homepage: 'https://cseweb.ucsd.edu/~jmcauley/datasets/amazon/links.html',
    variants: AMAZON_2014_CATEGORIES,
    example: 'amazon2014:Electronics',
    build(category) {
      return {
        id: `amazon2014:${category}`,
        title: `Amazon 2014 ${category}: 5-core reviews + metadata`,
        format: 'amazon2014',
        homepage: this.homepage,
        citation:
          'R. He, J. McAuley. Ups and downs: Modeling the visual evolution of fashion trends with one-class collaborative filtering. WWW 2016; J. McAuley, C. Targett, J. Shi, A. van den Hengel. Image-based recommendations on styles and substitutes. SIGIR 2015.',
        base: AMAZON_2014_BASE,
        mirrors: AMAZON_2014_MIRRORS,
        files: [
          fileAt(AMAZON_2014_BASE, `reviews_${category}_5.json.gz`),
          fileAt(AMAZON_2014_BASE, `meta_${category}.json.gz`),
        ],
        ingestInputs: [`reviews_${category}_5.json.gz`, `meta_${category}.json.gz`],
      };
    },
  },
  {
    name: 'amazon2018',
    aliases: ['amazon-2018'],
    title: 'Amazon review data 2018: 5-core reviews and item metadata of one category',
    format: 'amazon2018',
    homepage: 'https://nijianmo.github.io/amazon/index.html',
    variants: AMAZON_2018_CATEGORIES,
    example: 'amazon2018:Industrial_and_Scientific',
    build(category) {
      return {
        id: `amazon2018:${category}`,
        title: `Amazon 2018 ${category}: 5-core reviews + metadata`,
        format: 'amazon2018',
        homepage: this.homepage,
        citation:
          'J. Ni, J. Li, J. McAuley. Justifying recommendations using distantly-labeled reviews and fine-grained aspects. EMNLP 2019.',
        base: AMAZON_2018_BASE,
        mirrors: AMAZON_2018_MIRRORS,
        files: [
          fileAt(AMAZON_2018_BASE, `categoryFilesSmall/${category}_5.json.gz`),
          fileAt(AMAZON_2018_BASE, `metaFiles2/meta_${category}.json.gz`),
        ],
        ingestInputs: [`${category}_5.json.gz`, `meta_${category}.json.gz`],
      };
    },
  },
  {
    name: 'movielens',
    aliases: [],
    title: 'MovieLens ratings (GroupLens), as a zip extracted into the folder',
    format: 'movielens',
    homepage: 'https://grouplens.org/datasets/movielens/',
    variants: Object.keys(MOVIELENS_VARIANTS),
    defaultVariant: 'ml-latest-small',
    variantsAreTargets: true,
    example: 'movielens:ml-100k',
    build(variant) {
      const v = variant ?? 'ml-latest-small';
      const spec = MOVIELENS_VARIANTS[v];
      return {
        id: `movielens:${v}`,
        title: spec.title,
        format: 'movielens',
        homepage: this.homepage,
        citation: 'F. M. Harper, J. A. Konstan. The MovieLens datasets: History and context. ACM TiiS 5(4), 2015.',
        base: MOVIELENS_BASE,
        mirrors: [],
        files: [fileAt(MOVIELENS_BASE, `${v}.zip`, { extract: 'zip' })],
        ingestInputs: spec.inputs,
      };
    },
  },
  {
    name: 'gowalla',
    aliases: ['lightgcn:gowalla', 'lightgcn-gowalla'],
    title: 'Gowalla check-ins, the NGCF/LightGCN train/test split',
    format: 'lightgcn',
    homepage: 'https://github.com/kuandeng/LightGCN',
    variants: [],
    example: 'gowalla',
    build() {
      return {
        id: 'gowalla',
        title: this.title,
        format: 'lightgcn',
        homepage: this.homepage,
        citation:
          'X. He, K. Deng, X. Wang, Y. Li, Y. Zhang, M. Wang. LightGCN: Simplifying and powering graph convolution network for recommendation. SIGIR 2020. Data: SNAP loc-gowalla (E. Cho, S. A. Myers, J. Leskovec, KDD 2011).',
        base: GOWALLA_BASE,
        mirrors: [],
        files: GOWALLA_FILES.map(([name, bytes, sha256]) => fileAt(GOWALLA_BASE, name, { bytes, sha256 })),
        ingestInputs: GOWALLA_FILES.map(([name]) => name),
      };
    },
  },
];

/** The datasets `resolveFetchTarget` knows, for listings and help texts. */
export function fetchCatalog(): CatalogEntry[] {
  return DATASETS.map(({ name, title, format, homepage, variants, defaultVariant, example }) => ({
    name,
    title,
    format,
    homepage,
    variants,
    ...(defaultVariant ? { defaultVariant } : {}),
    example,
  }));
}

function knownTargetsText(): string {
  return DATASETS.map((d) =>
    d.variants.length === 0 ? d.name : `${d.name}:<${d.variants.length <= 4 ? d.variants.join('|') : 'category'}>`,
  ).join(', ');
}

/**
 * Resolves a target name such as `amazon2014:Electronics` to the files to download. Dataset and variant names
 * are matched case-insensitively and returned in their canonical spelling. Throws PP_FETCH_UNKNOWN_DATASET,
 * listing the known targets (or the dataset's categories), for anything else.
 */
export function resolveFetchTarget(spec: string): FetchTarget {
  const text = spec.trim();
  const lower = text.toLowerCase();
  // Whole-name aliases first (they may contain a colon, e.g. lightgcn:gowalla).
  for (const d of DATASETS) {
    if (d.variants.length === 0 && (d.name === lower || d.aliases.includes(lower))) return d.build(undefined);
    const asTarget = d.variantsAreTargets ? d.variants.find((v) => v.toLowerCase() === lower) : undefined;
    if (asTarget) return d.build(asTarget);
  }
  const colon = text.indexOf(':');
  const name = (colon < 0 ? text : text.slice(0, colon)).toLowerCase();
  const variant = colon < 0 ? undefined : text.slice(colon + 1).trim();
  const def = DATASETS.find((d) => d.name === name || d.aliases.includes(name));
  if (!def) throw ppError('PP_FETCH_UNKNOWN_DATASET', `"${spec}" (known: ${knownTargetsText()})`);
  if (def.variants.length === 0) {
    throw ppError('PP_FETCH_UNKNOWN_DATASET', `"${spec}": ${def.name} takes no variant (use "${def.name}")`);
  }
  if (variant === undefined || variant === '') {
    if (def.defaultVariant) return def.build(def.defaultVariant);
    throw ppError(
      'PP_FETCH_UNKNOWN_DATASET',
      `"${spec}": name a category, e.g. ${def.example} (known: ${def.variants.join(', ')})`,
    );
  }
  const canonical = def.variants.find((v) => v.toLowerCase() === variant.toLowerCase());
  if (!canonical) {
    throw ppError(
      'PP_FETCH_UNKNOWN_DATASET',
      `"${spec}": unknown ${def.name} variant "${variant}" (known: ${def.variants.join(', ')})`,
    );
  }
  return def.build(canonical);
}
