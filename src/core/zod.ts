/**
 * zod for the Worker: its tree-shakable `zod/mini` API, with English error messages (mini loads no
 * locale by itself). Every module of the Worker imports zod as `import * as z from '../core/zod'`,
 * never `zod` itself: the classic namespace cannot be tree-shaken and cost ~30-40 ms of script
 * startup at every cold start. (Only member access on the namespace, `z.object(...)`, lets esbuild
 * drop the rest; passing `z` around as a value would keep all of it.)
 */
import { config } from 'zod/v4/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/v4/mini';
