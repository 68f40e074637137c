import { describe, expect, it } from 'vitest';
import { type Match, packLines } from '#cli/lookup/match-file.ts';
import { RenderedLines } from '#cli/lookup/scan.ts';
import { classifyKey, type TrailKey } from '#shared/keys.ts';

const file = classifyKey(
  'AWSLogs/111122223333/CloudTrail/eu-west-1/2026/03/05/111122223333_CloudTrail_eu-west-1_20260305T0008Z_G7H0y2TtAByQ3Tvb.json.gz',
) as TrailKey;

describe('packed lines', () => {
  it('keeps each line whole, ASCII or not, through packing, sorting and writing in pieces', () => {
    // Prepare: lines of one, two, three and four UTF-8 bytes a character, and an empty match list
    const texts = [
      'plain,ascii\r\n',
      'caf\u00e9,\u00fcber\r\n',
      '\u20ac,\u4e2d\r\n',
      'emoji \u{1f600}\r\n',
      'last\r\n',
    ];
    const matches: Match[] = texts.map((line, i) => ({ seq: i, t: 1000 - i, id: `id-${i}`, line }));

    // Act
    const packed = packLines(matches);
    const items = texts.map((_, k) => ({ ...matches[k], file, packed, k })).reverse();
    const rendered = new RenderedLines(items);
    const written = Buffer.concat([...rendered.chunks()]).toString('utf8');

    // Assess
    expect(Array.from(packed.seqs)).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(packed.times)).toEqual([1000, 999, 998, 997, 996]);
    expect(packed.ids).toEqual(['id-0', 'id-1', 'id-2', 'id-3', 'id-4']);
    expect(rendered.toStrings()).toEqual([...texts].reverse());
    expect(written).toBe([...texts].reverse().join(''));
    expect(packLines([]).bytes.length).toBe(0);
  });

  it('writes pieces of whole lines, a line longer than a piece in one of its own', () => {
    // Prepare
    const long = `${'x'.repeat(1 << 21)}\r\n`;
    const texts = ['a\r\n', long, 'b\r\n'];
    const packed = packLines(texts.map((line, i) => ({ seq: i, t: i, id: '', line })));
    const rendered = new RenderedLines(texts.map((_, k) => ({ seq: k, t: k, id: '', file, packed, k })));

    // Act
    const pieces = [...rendered.chunks()].map((c) => c.toString('utf8'));

    // Assess
    expect(pieces).toEqual(['a\r\n', long, 'b\r\n']);
  });
});
