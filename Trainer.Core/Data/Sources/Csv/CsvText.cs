using System.Globalization;
using System.Text;

namespace TrainManager.Data.Sources.Csv;

/// <summary>One field of a line: where it is, and whether it was quoted (its text may then hold doubled quotes).</summary>
internal readonly record struct CsvField(int Start, int Length, bool Quoted);

/// <summary>
/// The text level of CSV and TSV (RFC 4180 quoting: a field in double quotes may hold the delimiter, and "" stands for
/// a quote), on UTF-8 bytes. One row is one line: a quoted field that runs past the end of its line is refused, which is
/// what lets a row be found again by its offset in the file and named by its line.
/// </summary>
internal static class CsvText
{
    /// <summary>Splits <paramref name="line"/> into <paramref name="fields"/> (cleared first).</summary>
    /// <returns>False when a quoted field is not closed on this line.</returns>
    public static bool Split(ReadOnlySpan<byte> line, byte delimiter, List<CsvField> fields)
    {
        fields.Clear();
        var i = 0;
        while (true)
        {
            if (i < line.Length && line[i] == (byte)'"')
            {
                var start = ++i;
                while (true)
                {
                    var close = line[i..].IndexOf((byte)'"');
                    if (close < 0) return false;
                    i += close + 1;
                    if (i < line.Length && line[i] == (byte)'"') { i++; continue; } // "" inside quotes
                    break;
                }
                fields.Add(new CsvField(start, i - 1 - start, true));
                // Text between the closing quote and the delimiter is kept out of the field, as most readers do.
                var next = line[i..].IndexOf(delimiter);
                if (next < 0) return true;
                i += next + 1;
            }
            else
            {
                var next = line[i..].IndexOf(delimiter);
                if (next < 0)
                {
                    fields.Add(new CsvField(i, line.Length - i, false));
                    return true;
                }
                fields.Add(new CsvField(i, next, false));
                i += next + 1;
            }
        }
    }

    /// <summary>The field's text, unquoted and trimmed.</summary>
    public static string Text(ReadOnlySpan<byte> line, CsvField field)
    {
        var text = Encoding.UTF8.GetString(line.Slice(field.Start, field.Length));
        if (field.Quoted) text = text.Replace("\"\"", "\"");
        return text.Trim();
    }

    /// <summary>Parses a number: whole numbers on a fast exact path, everything else (decimals, exponents, nan, inf) as
    /// <see cref="float.TryParse(ReadOnlySpan{byte}, NumberStyles, IFormatProvider, out float)"/> does, invariant culture.</summary>
    public static bool TryParseFloat(ReadOnlySpan<byte> text, out float value)
    {
        text = text.Trim((byte)' ');
        if (TryParseWhole(text, out var whole) && Math.Abs(whole) <= 1 << 24)
        {
            value = whole;
            return true;
        }
        return float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    public static bool TryParseWhole(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        text = text.Trim((byte)' ');
        if (text.IsEmpty) return false;
        var negative = text[0] == (byte)'-';
        if (negative || text[0] == (byte)'+') text = text[1..];
        if (text.IsEmpty || text.Length > 18) return false;
        foreach (var c in text)
        {
            var digit = c - (byte)'0';
            if ((uint)digit > 9) return false;
            value = value * 10 + digit;
        }
        if (negative) value = -value;
        return true;
    }

    /// <summary>Whether the field holds a number.</summary>
    public static bool IsNumber(ReadOnlySpan<byte> line, CsvField field) => TryParseFloat(line.Slice(field.Start, field.Length), out _);
}

/// <summary>Reads a stream line by line, telling each line's byte offset and number (from 1); '\n' or "\r\n" end a line.</summary>
internal static class CsvLines
{
    public delegate void LineHandler(ReadOnlySpan<byte> line, long offset, long number);

    public static void Read(Stream stream, LineHandler handle)
    {
        var buffer = new byte[1 << 20];
        int filled = 0, start = 0;
        long bufferOffset = 0, number = 0;
        var first = true;
        while (true)
        {
            var read = stream.Read(buffer, filled, buffer.Length - filled);
            filled += read;
            var scanFrom = start;
            while (true)
            {
                var newline = buffer.AsSpan(scanFrom, filled - scanFrom).IndexOf((byte)'\n');
                if (newline < 0) break;
                var end = scanFrom + newline;
                Emit(buffer.AsSpan(start, end - start), bufferOffset + start);
                start = scanFrom = end + 1;
            }
            if (read == 0)
            {
                if (start < filled) Emit(buffer.AsSpan(start, filled - start), bufferOffset + start);
                return;
            }
            // Keep the unfinished line: move it to the front, or grow the buffer for a line longer than it.
            if (start > 0)
            {
                buffer.AsSpan(start, filled - start).CopyTo(buffer);
                bufferOffset += start;
                filled -= start;
                start = 0;
            }
            else if (filled == buffer.Length)
                Array.Resize(ref buffer, buffer.Length * 2);
        }

        void Emit(ReadOnlySpan<byte> line, long offset)
        {
            number++;
            if (first)
            {
                first = false;
                if (line.StartsWith("\uFEFF"u8))
                {
                    line = line[3..];
                    offset += 3;
                }
            }
            if (!line.IsEmpty && line[^1] == (byte)'\r') line = line[..^1];
            handle(line, offset, number);
        }
    }
}
