// The oracle for tests/oracle: Node's real dotenv `parse`, the one Dokploy uses
// (packages/server/src/utils/docker/utils.ts, prepareEnvironmentVariables).
// Protocol: first writes one line {"dotenv": "<version>"}; then, for each stdin line holding a JSON
// array of texts, writes one line holding the JSON array of their `parse(text)` results.
'use strict'
const readline = require('readline')
const dotenv = require('dotenv')
const { version } = require('dotenv/package.json')

process.stdout.write(JSON.stringify({ dotenv: version }) + '\n')
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false })
rl.on('line', (line) => {
  const texts = JSON.parse(line)
  process.stdout.write(JSON.stringify(texts.map((text) => dotenv.parse(text))) + '\n')
})
rl.on('close', () => process.exit(0))
