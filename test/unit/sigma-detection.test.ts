import { describe, expect, it } from 'vitest';
import type { CloudTrailRecord } from '#shared/record.ts';
import { parseSigmaFile, SigmaError, sigmaMatcher } from '#shared/rules/sigma/index.ts';
import { stratusRecords } from '#test/support/logfiles.ts';

/** A Sigma rule around a detection block (YAML text, indented by 4). */
function sigma(detection: string, extra = ''): string {
  return `title: Test rule
id: 11111111-2222-3333-4444-555555555555
author: Test Author
level: high
${extra}logsource:
    product: aws
    service: cloudtrail
detection:
${detection
  .trim()
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
`;
}

function ruleOf(detection: string) {
  const [rule] = parseSigmaFile({ file: 'test.yml', text: sigma(detection) });
  return sigmaMatcher(rule.sigma!);
}

/** The eventIDs of `records` that the detection matches. */
function matchedIds(detection: string, records: CloudTrailRecord[]): string[] {
  const { match } = ruleOf(detection);
  return records.filter((r) => match(r)).map((r) => r.eventID as string);
}

function rejection(text: string): SigmaError {
  try {
    parseSigmaFile({ file: 'rules/bad.yml', text });
  } catch (err) {
    if (err instanceof SigmaError) return err;
    throw err;
  }
  throw new Error('expected the rule to be rejected');
}

const login = stratusRecords('aws.privilege-escalation.iam-update-user-login-profile');
const secrets = stratusRecords('aws.credential-access.secretsmanager-retrieve-secrets');
const params = stratusRecords('aws.credential-access.ssm-retrieve-securestring-parameters');
const consoleLogin = stratusRecords('aws.initial-access.console-login-without-mfa');
const getPassword = stratusRecords('aws.credential-access.ec2-get-password-data');
const ids = (rs: CloudTrailRecord[], pred: (r: CloudTrailRecord) => boolean) =>
  rs.filter(pred).map((r) => r.eventID as string);

describe('Sigma detections on real records', () => {
  it('matches plain values without case, and a list of values as OR', () => {
    // Act
    const lower = matchedIds('selection:\n    eventName: getsecretvalue\ncondition: selection', secrets);
    const list = matchedIds(
      'selection:\n    eventName:\n        - ListSecrets\n        - NoSuchCall\ncondition: selection',
      secrets,
    );

    // Assess
    expect(lower).toEqual(ids(secrets, (r) => r.eventName === 'GetSecretValue'));
    expect(lower).toHaveLength(20);
    expect(list).toEqual(ids(secrets, (r) => r.eventName === 'ListSecrets'));
  });

  it('reads nested fields through dots, and values inside arrays', () => {
    // Act
    const nested = matchedIds(
      "selection:\n    additionalEventData.MFAUsed: 'no'\n    responseElements.ConsoleLogin: Success\ncondition: selection",
      consoleLogin,
    );
    const inArray = matchedIds(
      "selection:\n    requestParameters.names: '/credentials/stratus-red-team/credentials-40'\ncondition: selection",
      params,
    );

    // Assess
    expect(nested).toEqual(ids(consoleLogin, (r) => r.eventName === 'ConsoleLogin'));
    expect(nested.length).toBeGreaterThan(0);
    expect(inArray).toEqual(
      ids(params, (r) =>
        JSON.stringify(r.requestParameters ?? {}).includes('"/credentials/stratus-red-team/credentials-40"'),
      ),
    );
    expect(inArray).toHaveLength(1);
  });

  it('contains, startswith, endswith, with wildcards and escapes', () => {
    // Act
    const contains = matchedIds(
      "selection:\n    userAgent|contains: 'STRATUS-RED-TEAM'\ncondition: selection",
      secrets,
    );
    const starts = matchedIds("selection:\n    eventName|startswith: 'Get'\ncondition: selection", secrets);
    const ends = matchedIds("selection:\n    eventName|endswith: 'Secrets'\ncondition: selection", secrets);
    const wild = matchedIds("selection:\n    eventName: 'G?tSecret*ue'\ncondition: selection", secrets);
    const escaped = matchedIds("selection:\n    eventName: 'GetSecret\\*'\ncondition: selection", secrets);
    const cased = matchedIds(
      "selection:\n    eventName|cased: 'getsecretvalue'\ncondition: selection",
      secrets,
    );

    // Assess
    expect(contains).toHaveLength(secrets.length);
    expect(starts).toEqual(ids(secrets, (r) => r.eventName === 'GetSecretValue'));
    expect(ends).toEqual(ids(secrets, (r) => r.eventName === 'ListSecrets'));
    expect(wild).toEqual(starts);
    expect(escaped).toEqual([]);
    expect(cased).toEqual([]);
  });

  it('all: every value of the list must match', () => {
    // Act
    const both = matchedIds(
      "selection:\n    requestParameters.names|contains|all:\n        - 'credentials-12'\n        - 'credentials-40'\ncondition: selection",
      params,
    );
    const notTogether = matchedIds(
      "selection:\n    requestParameters.names|contains|all:\n        - 'credentials-12'\n        - 'credentials-1/'\ncondition: selection",
      params,
    );

    // Assess
    expect(both).toHaveLength(1);
    expect(notTogether).toEqual([]);
  });

  it('contains on an object field looks inside its JSON text', () => {
    // Act
    const got = matchedIds(
      'selection:\n    requestParameters|contains: \'"withDecryption":true\'\ncondition: selection',
      params,
    );

    // Assess
    expect(got).toEqual(ids(params, (r) => r.eventName === 'GetParameters'));
  });

  it('re, with and without the i sub-modifier', () => {
    // Act
    const sensitive = matchedIds(
      "selection:\n    userIdentity.arn|re: ':USER/christophe$'\ncondition: selection",
      secrets,
    );
    const insensitive = matchedIds(
      "selection:\n    userIdentity.arn|re|i: ':USER/christophe$'\ncondition: selection",
      secrets,
    );
    const unanchored = matchedIds("selection:\n    eventName|re: 'Secret'\ncondition: selection", secrets);

    // Assess
    expect(sensitive).toEqual([]);
    expect(insensitive).toHaveLength(secrets.length);
    expect(unanchored).toHaveLength(secrets.length);
  });

  it('cidr on the caller address', () => {
    // Prepare
    const ip = getPassword[0].sourceIPAddress as string;
    const slash16 = `${ip.split('.').slice(0, 2).map(Number).join('.')}.0.0/16`;

    // Act
    const inside = matchedIds(
      `selection:\n    sourceIPAddress|cidr: '${slash16}'\ncondition: selection`,
      getPassword,
    );
    const outside = matchedIds(
      "selection:\n    sourceIPAddress|cidr: '10.0.0.0/8'\ncondition: selection",
      getPassword,
    );

    // Assess
    expect(inside).toEqual(ids(getPassword, (r) => r.sourceIPAddress === ip));
    expect(inside.length).toBeGreaterThan(0);
    expect(outside).toEqual([]);
  });

  it('exists and null: absent or JSON null', () => {
    // Act
    const errorNull = matchedIds('selection:\n    errorCode: null\ncondition: selection', getPassword);
    const errorExists = matchedIds(
      'selection:\n    errorCode|exists: true\ncondition: selection',
      getPassword,
    );
    const responseNull = matchedIds('selection:\n    responseElements: null\ncondition: selection', secrets);

    // Assess
    expect(errorNull).toEqual(ids(getPassword, (r) => r.errorCode === undefined));
    expect(errorExists).toEqual(ids(getPassword, (r) => r.errorCode !== undefined));
    expect(errorExists.length).toBeGreaterThan(0);
    expect(responseNull).toEqual(
      ids(secrets, (r) => r.responseElements === null || r.responseElements === undefined),
    );
  });

  it('fieldref compares two fields of the same record', () => {
    // Act
    const same = matchedIds(
      'selection:\n    userIdentity.arn|fieldref|endswith: requestParameters.userName\ncondition: selection',
      login,
    );
    const equal = matchedIds('selection:\n    eventName|fieldref: eventName\ncondition: selection', login);

    // Assess
    expect(same).toEqual(
      ids(login, (r) => {
        const user = (r.requestParameters as { userName?: string } | null)?.userName;
        return !!user && (r.userIdentity?.arn ?? '').toLowerCase().endsWith(user.toLowerCase());
      }),
    );
    expect(equal).toHaveLength(login.length);
  });

  it('conditions: and, or, not, parentheses, 1 of / all of with patterns and them', () => {
    // Prepare
    const block = (condition: string) =>
      `selection_get:\n    eventName: GetSecretValue\nselection_list:\n    eventName: ListSecrets\nfilter_user:\n    userIdentity.userName: christophe\ncondition: ${condition}`;
    const get = ids(secrets, (r) => r.eventName === 'GetSecretValue');
    const list = ids(secrets, (r) => r.eventName === 'ListSecrets');

    // Act + Assess
    expect(matchedIds(block('1 of selection_*'), secrets)).toHaveLength(get.length + list.length);
    expect(matchedIds(block('all of selection_*'), secrets)).toEqual([]);
    expect(matchedIds(block('selection_get and not filter_user'), secrets)).toEqual([]);
    expect(matchedIds(block('selection_list or (selection_get and not filter_user)'), secrets)).toEqual(list);
    expect(matchedIds(block('not (selection_get or selection_list)'), secrets)).toEqual([]);
    expect(matchedIds(block('1 of them and not selection_get'), secrets)).toEqual(list);
    expect(matchedIds(block('all of filter_* and selection_get'), secrets)).toEqual(get);
  });

  it('knows the eventName or eventSource a rule requires, so the evaluator can skip it', () => {
    // Act
    const named = ruleOf(
      'selection:\n    eventName:\n        - GetSecretValue\n        - ListSecrets\ncondition: selection',
    );
    const notNamed = ruleOf(
      'selection:\n    eventName: GetSecretValue\nfilter:\n    eventName: X\ncondition: selection or not filter',
    );
    const sourced = ruleOf('selection:\n    eventSource: ssm.amazonaws.com\ncondition: selection');

    // Assess
    expect([...(named.eventNames ?? [])]).toEqual(['getsecretvalue', 'listsecrets']);
    expect(notNamed.eventNames).toBeUndefined();
    expect([...(sourced.eventSources ?? [])]).toEqual(['ssm.amazonaws.com']);
  });
});

describe('Sigma features rejected at load, with the rule, the feature and the file', () => {
  it.each([
    [
      'a modifier trailwatch does not run',
      'selection:\n    userAgent|base64: x\ncondition: selection',
      'field "userAgent|base64"',
      /modifier base64/,
    ],
    [
      'an unknown modifier',
      'selection:\n    userAgent|sometimes: x\ncondition: selection',
      'field "userAgent|sometimes"',
      /unknown modifier "sometimes"/,
    ],
    ['keywords', 'keywords:\n    - evil\ncondition: keywords', 'search identifier "keywords"', /keywords/],
    [
      'an aggregation',
      'selection:\n    eventName: X\ncondition: selection | count() > 5',
      'condition "selection | count() > 5"',
      /aggregations are not supported/,
    ],
    [
      'near',
      'selection:\n    eventName: X\ncondition: selection near selection',
      'condition "selection near selection"',
      /"near" at column 11: near is not supported/,
    ],
    [
      'an undefined identifier',
      'selection:\n    eventName: X\ncondition: selection and filter',
      'condition "selection and filter"',
      /"filter" at column 15/,
    ],
    [
      'a pattern matching nothing',
      'selection:\n    eventName: X\ncondition: 1 of filter_*',
      'condition "1 of filter_*"',
      /none/,
    ],
    [
      '"2 of"',
      'selection:\n    eventName: X\ncondition: 2 of selection*',
      'condition "2 of selection*"',
      /"2 of"/,
    ],
    [
      'a timeframe',
      'selection:\n    eventName: X\ntimeframe: 5m\ncondition: selection',
      'detection.timeframe',
      /correlation/,
    ],
    [
      'a bad regex',
      "selection:\n    eventName|re: '(unclosed'\ncondition: selection",
      'field "eventName|re"',
      /"\(unclosed" \(Invalid regular expression/,
    ],
    [
      'a bad network',
      "selection:\n    sourceIPAddress|cidr: '10.0.0.0/33'\ncondition: selection",
      'field "sourceIPAddress|cidr"',
      /"10.0.0.0\/33"/,
    ],
    [
      're with contains',
      "selection:\n    eventName|re|contains: 'x'\ncondition: selection",
      'field "eventName|re|contains"',
      /re with contains/,
    ],
  ])('%s', (_name, detection, feature, found) => {
    // Act
    const err = rejection(sigma(detection));

    // Assess
    expect(err.file).toBe('rules/bad.yml');
    expect(err.ruleId).toBe('11111111-2222-3333-4444-555555555555');
    expect(err.ruleTitle).toBe('Test rule');
    expect(err.feature).toBe(feature);
    expect(err.found).toMatch(found);
    expect(err.message).toMatch(
      /^rules\/bad\.yml: rule 11111111-2222-3333-4444-555555555555 "Test rule": .*expected .*, found /,
    );
  });

  it('rejects another log source, an unknown field, a missing author or level', () => {
    // Prepare
    const windows = sigma('selection:\n    EventID: 1\ncondition: selection').replace(
      'product: aws',
      'product: windows',
    );
    const unknown = sigma('selection:\n    eventName: X\ncondition: selection', 'flavour: spicy\n');
    const noAuthor = sigma('selection:\n    eventName: X\ncondition: selection').replace(
      'author: Test Author\n',
      '',
    );
    const noLevel = sigma('selection:\n    eventName: X\ncondition: selection').replace('level: high\n', '');

    // Act + Assess
    expect(rejection(windows)).toMatchObject({
      feature: 'logsource',
      found: 'product: "windows", service: "cloudtrail"',
    });
    expect(rejection(unknown)).toMatchObject({
      feature: 'field "flavour"',
      found: 'unknown field "flavour"',
    });
    expect(rejection(noAuthor)).toMatchObject({ feature: 'author', found: 'nothing' });
    expect(rejection(noLevel)).toMatchObject({ feature: 'level', found: 'nothing' });
    expect(rejection('title: [unclosed')).toMatchObject({ feature: 'YAML', file: 'rules/bad.yml' });
  });

  it('rejects correlation types and conditions it does not evaluate', () => {
    // Prepare
    const base = sigma('selection:\n    eventName: GetSecretValue\ncondition: selection', 'name: base\n');
    const corr = (body: string) =>
      `${base}---\ntitle: Count\nid: count-1\nauthor: A\nlevel: high\ncorrelation:\n${body
        .trim()
        .split('\n')
        .map((l) => `    ${l}`)
        .join('\n')}\n`;

    // Act + Assess
    expect(
      rejection(
        corr(
          'type: temporal\nrules: [base]\ngroup-by: [userIdentity.arn]\ntimespan: 5m\ncondition: {gte: 2}',
        ),
      ),
    ).toMatchObject({ feature: 'correlation.type', found: 'temporal (not supported)', ruleId: 'count-1' });
    expect(
      rejection(corr('type: event_count\nrules: [base]\ntimespan: 5m\ncondition: {lt: 2}')),
    ).toMatchObject({ feature: 'correlation.condition', found: 'lt: number 2' });
    expect(
      rejection(corr('type: event_count\nrules: [nothere]\ntimespan: 5m\ncondition: {gte: 2}')),
    ).toMatchObject({ feature: 'correlation.rules', found: '"nothere"' });
    expect(
      rejection(corr('type: event_count\nrules: [base]\ntimespan: 3w\ncondition: {gte: 2}')),
    ).toMatchObject({ feature: 'correlation.timespan', found: '"3w"' });
    expect(
      rejection(corr('type: value_count\nrules: [base]\ntimespan: 5m\ncondition: {gte: 2}')),
    ).toMatchObject({ feature: 'correlation.condition.field' });
  });
});
