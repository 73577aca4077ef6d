import { runServer } from './server.js';

// loadConfig() → startServer() → listen; everything else lives in server.ts and app.ts.
await runServer();
