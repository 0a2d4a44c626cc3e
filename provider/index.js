// The component package's plugin: run by @pulumi/pulumi's run-plugin, which serves the
// ComponentResource classes exported here as airlock:index:<Class>. Compiled by the package's
// build (scripts/build-package.sh) into dist/.
"use strict";
module.exports = require("../dist/components/pulumi-package/index.js");
