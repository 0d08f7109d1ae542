import {
  EntryFormatError,
  FORMAT_DEFLATE,
  FORMAT_PLAIN,
  decodeEntry,
  decodeHeader,
  encodeEntry,
} from './entry-format';

const header = { versions: { products: 7 }, storedAt: 1700000000000 };

describe('entry format', () => {
  it('stores a value under the threshold plain and reads it back', () => {
    const { bytes, saved } = encodeEntry({ name: 'tea' }, header, 1024);

    expect(bytes[0]).toBe(FORMAT_PLAIN);
    expect(saved).toBe(0);
    expect(decodeEntry(bytes)).toEqual({ header, value: { name: 'tea' } });
  });

  it('deflates a value over the threshold, counts the bytes saved, and reads it back', () => {
    const value = { description: 'green tea '.repeat(500) };
    const json = JSON.stringify(value).length;

    const { bytes, saved } = encodeEntry(value, header, 1024);

    expect(bytes[0]).toBe(FORMAT_DEFLATE);
    expect(saved).toBeGreaterThan(json / 2);
    expect(bytes.length).toBeLessThan(json);
    expect(decodeEntry(bytes)).toEqual({ header, value });
  });

  it('keeps a value plain when deflating would not make it smaller', () => {
    const random = Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919) % 251)).toString(
      'base64',
    );

    const { bytes } = encodeEntry(random, header, 10);

    expect(decodeEntry(bytes).value).toBe(random);
  });

  it('reads the header without the value, and refuses bytes of another format', () => {
    const { bytes } = encodeEntry({ a: 1 }, header, 1024);

    expect(decodeHeader(bytes)).toEqual(header);
    expect(() => decodeHeader(Buffer.from('cached html'))).toThrow(EntryFormatError);
  });
});
