#!/usr/bin/env bash
# Rebuilds TestToken.json from TestToken.sol with solc-js 0.8.26 from the npm registry:
#   npm install solc@0.8.26 && crates/chain/tests/evm/build-test-token.sh
set -euo pipefail
cd "$(dirname "$0")"
node -e '
const solc = require("solc");
const fs = require("fs");
const input = {language: "Solidity", sources: {"TestToken.sol": {content: fs.readFileSync("TestToken.sol", "utf8")}},
  settings: {optimizer: {enabled: true, runs: 200}, outputSelection: {"*": {"*": ["abi", "evm.bytecode.object"]}}}};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
if (out.errors && out.errors.some(e => e.severity === "error")) { console.error(out.errors); process.exit(1); }
const c = out.contracts["TestToken.sol"].TestToken;
fs.writeFileSync("TestToken.json", JSON.stringify({compiler: "solc-js " + solc.version(), abi: c.abi, bytecode: "0x" + c.evm.bytecode.object}, null, 1) + "\n");
'
