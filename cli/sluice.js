#!/usr/bin/env node
// bin shim: npm links this plain-JS file; it loads the TypeScript entry point (Node 24 strips types).
import "./main.ts";
