/**
 * State shared by the nodes of a cluster through Redis (`redis.url` / JUNCTION_REDIS_URL), for
 * policies whose limits hold across nodes.
 */
export {
  connectPacingRedis,
  createRedisPacingStore,
  type RedisPacingStoreOptions,
} from './pacing-redis.ts';
