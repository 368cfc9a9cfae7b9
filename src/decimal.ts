// Decimal text of a non-negative integer, built digit by digit. String(n)
// goes through V8's number-string cache, which keeps every recent result
// alive: with a new client port (and pid) per connection, each one lived
// long enough to be promoted to the old generation, then died there, and a
// busy server's heap crept up until the next full collection.
const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export function decimal(n: number): string {
  if (!(n >= 0 && n <= 0xffffffff) || n !== Math.floor(n)) return String(n);
  let s = DIGITS[n % 10];
  for (n = Math.floor(n / 10); n > 0; n = Math.floor(n / 10)) s = DIGITS[n % 10] + s;
  return s;
}
