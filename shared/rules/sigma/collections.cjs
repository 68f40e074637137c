'use strict';
/**
 * The folders of Sigma rules a deployment carries, bundled into shared/rules/sigma/bundle.json by
 * `npm run rules:bundle` (also part of `npm run build`): the Lambdas and the CLI read the bundle, deploy/ reads
 * its alarm list. Plain CommonJS so deploy/ can require it.
 *
 * `vendored`: a rule trailwatch cannot run is left out and listed (third-party rules are kept unmodified);
 * in the other folders it stops the functions at load, like a bad custom rule.
 */
exports.SIGMA_COLLECTIONS = Object.freeze([
  {
    dir: 'shared/rules/sigma/sigmahq',
    source: 'SigmaHQ rule (https://github.com/SigmaHQ/sigma, rules/cloud/aws/cloudtrail)',
    license: 'DRL 1.1',
    vendored: true,
  },
  { dir: 'shared/rules/sigma/count-rules', source: 'trailwatch count rule', vendored: false },
  { dir: 'shared/rules/sigma/custom', source: 'custom Sigma rule', vendored: false },
]);

exports.SIGMA_BUNDLE_FILE = 'shared/rules/sigma/bundle.json';
