/**
 * Route schemas (TypeBox → JSON Schema → request validation and the OpenAPI document at /docs).
 */
import { Type, type Static } from '@sinclair/typebox';

/**
 * `T | null` as `{type: [T, 'null']}` rather than TypeBox's anyOf: fast-json-stringify serialises a type array
 * directly, while anyOf makes it test each value against the alternatives (slow on the hot routes).
 */
function Nullable<T extends 'string' | 'number'>(type: T, options: Record<string, unknown> = {}) {
  return Type.Unsafe<(T extends 'string' ? string : number) | null>({ ...options, type: [type, 'null'] });
}
import { EVENT_TYPES } from '../analytics/log-schema.js';

export const Modality = Type.Union([Type.Literal('fused'), Type.Literal('text'), Type.Literal('image'), Type.Literal('graph')], {
  description: 'fused | text | image (content indexes, cosine) or graph (the model\'s item embeddings)',
});

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'stable error code, e.g. PP_SERVE_USER_UNKNOWN' }),
      message: Type.String(),
      field: Type.Optional(Type.String({ description: 'the offending request field, for 400s' })),
    }),
    request_id: Type.String(),
  },
  { $id: 'ErrorBody' },
);

export const ExplanationEntry = Type.Object({
  item_id: Type.String({ description: 'a history item of the user' }),
  cosine: Type.Number({ description: 'cos(e_rec, e_hist) in model space' }),
  dot: Type.Number({ description: '⟨e_rec, e_hist⟩ in model space' }),
  attention: Nullable('number', { description: "the model's attention weight of the user on this history item (GAT), else null" }),
  knn_edge: Nullable('number', { description: 'similarity weight of the item–item kNN edge between the two items, null without one' }),
});

export const RecommendedItem = Type.Object({
  item_id: Type.String(),
  score: Type.Number({ description: 'model score ⟨u, e_i⟩' }),
  rank: Type.Integer({ minimum: 1 }),
  title: Nullable('string'),
  explanation: Type.Optional(Type.Array(ExplanationEntry, { description: 'the history items that contributed most, by cosine' })),
  because: Type.Optional(
    Type.Object(
      {
        item_id: Type.String({ description: 'the item of the recent event' }),
        type: Type.String({ description: 'the event type (impression | click | purchase | rating)' }),
        ts: Type.String({ description: 'when the event happened (ISO 8601)' }),
        message: Type.String({ description: 'e.g. "because you just viewed <title>"' }),
      },
      { description: 'live feedback: the recent event of this user or session that put the item in the list (its fold-in part of the score is larger than the learned part)' },
    ),
  ),
});

export const RecommendationsResponse = Type.Object({
  request_id: Type.String(),
  user_id: Nullable('string'),
  model_version: Type.String(),
  variant: Type.String(),
  k: Type.Integer(),
  items: Type.Array(RecommendedItem),
});

/**
 * The one id pattern of users and items, for the API and the dashboard alike (src/web/catalog.ts): 1–256 code
 * points, none a control character (C0, DEL, C1) or a lone UTF-16 surrogate (no UTF-8 form: it could not be
 * stored or looked up). Every id the lake stages fits it; anything else is a 400 naming the field.
 */
export const ID_PATTERN = '^[^\\p{Cc}\\p{Cs}]{1,256}$';
/** {@link ID_PATTERN} as a RegExp (unicode mode, as Ajv compiles patterns). */
export const ID_RE = new RegExp(ID_PATTERN, 'u');
const Id = (options: Record<string, unknown> = {}) => Type.String({ minLength: 1, maxLength: 256, pattern: ID_PATTERN, ...options });

export const UserParams = Type.Object({ userId: Id() });
export const ItemParams = Type.Object({ itemId: Id() });

export const K = (max: number) => Type.Integer({ minimum: 1, maximum: max, default: 20, description: `number of results (1–${max})` });

export const RecommendationsQuery = (maxK: number) =>
  Type.Object(
    {
      k: K(maxK),
      exclude_seen: Type.Boolean({ default: true, description: "drop the user's known items" }),
      explain: Type.Boolean({ default: true, description: 'attach explanations' }),
      ...FeedbackOptions,
    },
    { additionalProperties: false },
  );

/** Live feedback switches of the recommendation routes. */
const FeedbackOptions = {
  feedback: Type.Boolean({ default: true, description: "apply live feedback: the recent events of this user (or session) — consumed items excluded, the user vector blended with their fold-in; false = the model's list alone" }),
  blend: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'the blend weight α of the live fold-in for this request (default serve.feedback.blend)' })),
};

export const AnonymousBody = (maxK: number) =>
  Type.Object(
    {
      item_ids: Type.Optional(Type.Array(Id(), { maxItems: 500, description: 'the short history (known item ids); needed unless session_id names a session with events' })),
      k: Type.Optional(K(maxK)),
      user_id: Type.Optional(Id({ description: 'an id for logging and A/B assignment (not a known user)' })),
      session_id: Type.Optional(Id({ description: "an anonymous session: its events (POST /v1/events with this session_id) are folded in like a user's" })),
      exclude_seen: Type.Optional(Type.Boolean({ default: true })),
      explain: Type.Optional(Type.Boolean({ default: true })),
      feedback: Type.Optional(FeedbackOptions.feedback),
      blend: FeedbackOptions.blend,
    },
    { additionalProperties: false },
  );
export type AnonymousBodyT = Static<ReturnType<typeof AnonymousBody>>;

export const ItemResponse = Type.Object({
  item_id: Type.String(),
  title: Nullable('string'),
  brand: Nullable('string'),
  categories: Type.Array(Type.String()),
  price: Nullable('number'),
  image_url: Nullable('string'),
  image_path: Nullable('string'),
  modalities: Type.Array(Type.String(), { description: 'modalities with a vector for this item' }),
  model_version: Type.String(),
  variant: Type.String(),
});

export const SimilarQuery = (maxK: number) =>
  Type.Object({ k: K(maxK), modality: Type.Optional(Modality) }, { additionalProperties: false });

export const SimilarItem = Type.Object({ item_id: Type.String(), score: Type.Number({ description: 'cosine similarity' }), rank: Type.Integer(), title: Nullable('string') });

export const SimilarResponse = Type.Object({
  request_id: Type.String(),
  item_id: Type.String(),
  modality: Type.String(),
  model_version: Type.String(),
  variant: Type.String(),
  k: Type.Integer(),
  items: Type.Array(SimilarItem),
});

export const ColdStartBody = (maxK: number) =>
  Type.Object(
    {
      title: Type.Optional(Type.String({ maxLength: 2000 })),
      description: Type.Optional(Type.String({ maxLength: 20000 })),
      brand: Type.Optional(Type.String({ maxLength: 500 })),
      categories: Type.Optional(Type.Array(Type.String({ maxLength: 500 }), { maxItems: 20 })),
      image_url: Type.Optional(Type.String({ maxLength: 4096, description: 'http(s) only; private/loopback targets are refused' })),
      image_base64: Type.Optional(Type.String({ description: 'PNG or JPEG bytes, base64' })),
      k: Type.Optional(K(maxK)),
      users_k: Type.Optional(Type.Integer({ minimum: 1, maximum: maxK, default: 20, description: 'number of users to return' })),
    },
    { additionalProperties: false },
  );
export type ColdStartBodyT = Static<ReturnType<typeof ColdStartBody>>;

export const ColdStartResponse = Type.Object({
  request_id: Type.String(),
  model_version: Type.String(),
  variant: Type.String(),
  modalities: Type.Array(Type.String(), { description: 'the content modalities the new item was encoded in (fused: text/image through the fusion MLP, when the bundle has it)' }),
  similar: Type.Record(Type.String(), Type.Array(SimilarItem), { description: 'per modality, the most similar warm items (cosine)' }),
  users: Type.Array(Type.Object({ user_id: Type.String(), score: Type.Number(), rank: Type.Integer() }), {
    description: 'users the item would be recommended to: top ⟨u, v⟩ where v = similarity-weighted mean of the model vectors of its content-nearest warm items',
  }),
  neighbours_used: Type.Integer(),
});

export const EventBody = Type.Object(
  {
    type: Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))),
    item_id: Id(),
    user_id: Type.Optional(Id()),
    session_id: Type.Optional(Id({ description: 'an anonymous session (used when there is no user_id): its recommendations follow its events' })),
    request_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: ID_PATTERN, description: 'the response this event follows' })),
    value: Type.Optional(Type.Number({ description: 'rating (rating events) or amount' })),
    ts: Type.Optional(Type.String({ format: 'date-time', description: 'when it happened (default: now)' })),
  },
  { additionalProperties: false },
);
export type EventBodyT = Static<typeof EventBody>;

export const EventResponse = Type.Object({ event_id: Type.String(), variant: Nullable('string'), stored: Type.Boolean() });

export const ReloadBody = Type.Object(
  {
    run_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'the run to serve (default: the blessed run)' })),
    variant: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'the A/B variant to swap (default: the first)' })),
  },
  { additionalProperties: false },
);
export const ReloadResponse = Type.Object({ variant: Type.String(), previous_model_version: Type.String(), model_version: Type.String(), seconds: Type.Number() });
