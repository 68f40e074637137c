'use strict';
/**
 * The state bucket's lifecycle, as CloudFormation for serverless.yml: every prefix trailwatch writes has an
 * end, so state stays bounded however long the stack runs.
 *
 *   LifecycleConfiguration: ${file(./deploy/lifecycle.cjs):configuration}
 *
 * Parameters (days): summariesDays, verdictsDays, rejectedDays, alertWindowsDays, insightFilesDays,
 * verifiedMarksDays, unlistedMarksDays, parkedSummariesDays, noncurrentVersionDays. What never expires by
 * age: `insights/state/` (the current state of each account-region; it bounds itself, see shared/limits.ts),
 * `insights/active/` (a mark that an account-region has an open insight or a message to send), `outbox/` (a message
 * waiting there is an alert not sent yet), `chain-incidents/` (an open digest-chain incident lasts until a
 * digest links again, however long that takes), `watchdog/` and `shards/` (a few small objects). Their old
 * versions do expire.
 */

const DEFAULT_DAYS = {
  summariesDays: 400,
  verdictsDays: 400,
  rejectedDays: 90,
  // A claim matters for the throttle window it names (minutes to a day): a week is ample.
  alertWindowsDays: 7,
  insightFilesDays: 400,
  // verify's mark that a digest lists a log file, and the watchdog's mark that an unlisted one was reported:
  // both are read only while the file is within the watchdog's unlisted look-back (two digest periods after
  // delivery, over the last three day folders), so a week is ample and never less than that.
  verifiedMarksDays: 7,
  unlistedMarksDays: 7,
  // Summaries batched ingest parked for the scheduled detect: read by the next fold (every foldMinutes, two
  // hours by default; a shard without a status looks back a day), so three days leave room for an outage.
  parkedSummariesDays: 3,
  // Every write of a state object leaves a version (a quiet account-region writes ~290 a day): kept a day.
  noncurrentVersionDays: 1,
};

/** Prefix of each expiring area and the parameter that gives its age. */
const PREFIXES = [
  ['expire-summaries', 'summaries/', 'summariesDays'],
  ['expire-verdicts', 'verdicts/', 'verdictsDays'],
  ['expire-rejected', 'rejected/', 'rejectedDays'],
  ['expire-alert-windows', 'alert-windows/', 'alertWindowsDays'],
  // Insights files detect writes into the state bucket, laid out like CloudTrail's.
  ['expire-insight-files', 'AWSLogs/', 'insightFilesDays'],
  ['expire-verified-marks', 'verified/', 'verifiedMarksDays'],
  ['expire-unlisted-marks', 'unlisted/', 'unlistedMarksDays'],
  ['expire-parked-summaries', 'insights/parked/', 'parkedSummariesDays'],
];

/**
 * Marks that must outlive a window trailwatch still reads them in: a verified mark expiring earlier would
 * make the watchdog report a genuine log file as unlisted, an unlisted mark would report it again. The
 * watchdog looks back over three day folders (shared/watchdog/unlisted-files.ts), so four days at least.
 */
const MIN_DAYS = { verifiedMarksDays: 4, unlistedMarksDays: 4, parkedSummariesDays: 2 };

class LifecycleConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = 'LifecycleConfigError';
  }
}

function daysOf(params) {
  const out = {};
  for (const [name, fallback] of Object.entries(DEFAULT_DAYS)) {
    const raw = params[name] ?? fallback;
    const n = Number(raw);
    const min = MIN_DAYS[name] ?? 1;
    if (!Number.isInteger(n) || n < min || n > 36500) {
      throw new LifecycleConfigError(
        `expected parameter ${name} to be a whole number of days (${min}-36500), found "${raw}"`,
      );
    }
    out[name] = n;
  }
  return out;
}

function lifecycleConfiguration(params = {}) {
  const days = daysOf(params);
  const Rules = [
    {
      Id: 'expire-old-versions',
      Status: 'Enabled',
      NoncurrentVersionExpiration: { NoncurrentDays: days.noncurrentVersionDays },
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
    },
    // An expired object leaves a delete marker on a versioned bucket; once its versions are gone, so is it.
    { Id: 'remove-expired-delete-markers', Status: 'Enabled', ExpiredObjectDeleteMarker: true },
  ];
  for (const [Id, Prefix, name] of PREFIXES) {
    Rules.push({ Id, Status: 'Enabled', Prefix, ExpirationInDays: days[name] });
  }
  return { Rules };
}

async function configuration(args = {}) {
  const params = {};
  // Parameters resolve in a later phase than files: osls calls again when they are known (its error must
  // go through), and every one has a default in serverless.yml.
  for (const name of Object.keys(DEFAULT_DAYS)) {
    const v = await args.resolveVariable(`param:${name}`);
    if (v !== undefined && v !== null && v !== '') params[name] = v;
  }
  return lifecycleConfiguration(params);
}

module.exports = {
  configuration,
  lifecycleConfiguration,
  DEFAULT_DAYS,
  MIN_DAYS,
  PREFIXES,
  LifecycleConfigError,
};
