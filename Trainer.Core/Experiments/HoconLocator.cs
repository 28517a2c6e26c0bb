using System.Text;

namespace TrainManager.Experiments;

/// <summary>A structural error in HOCON text: where it is and what to do about it.</summary>
public sealed record HoconSyntaxError(int Line, string Message);

/// <summary>
/// An <c>include</c> statement: <c>include "a.hocon"</c>, <c>include file("a.hocon")</c>, <c>include required(...)</c>.
/// <paramref name="Prefix"/> is the block it sits in ("" at the top level), <paramref name="Scheme"/> is <c>file</c> for
/// the plain and <c>file(...)</c> forms (or <c>url</c>, <c>classpath</c>), and <paramref name="Start"/>..<paramref name="End"/>
/// is the statement's span in the text, so a loader can rewrite it.
/// </summary>
public sealed record HoconInclude(int Line, string Prefix, string Target, string Scheme, bool Required, int Start, int End);

/// <summary>
/// Scans HOCON text for where each key is defined (<c>model { type = cnn }</c> and <c>model.type = cnn</c> both
/// define <c>model.type</c>; list elements are <c>extensions[0]</c>) and for the first structural error.
/// Akka's HOCON parser keeps no positions and silently accepts some broken input (an unclosed <c>{</c> or
/// <c>[</c>, an unterminated string, a key without a value), so the loader runs this scan first: it gives
/// errors a line number and refuses what Akka would misread.
/// </summary>
public sealed class HoconLocator
{
    readonly Dictionary<string, List<int>> _lines;

    HoconLocator(Dictionary<string, List<int>> lines, List<HoconInclude> includes, HoconSyntaxError? error)
    {
        _lines = lines;
        Includes = includes;
        SyntaxError = error;
    }

    /// <summary>The first structural error, or null when the text is well formed.</summary>
    public HoconSyntaxError? SyntaxError { get; }

    /// <summary>The <c>include</c> statements, in the order they appear.</summary>
    public IReadOnlyList<HoconInclude> Includes { get; }

    /// <summary>Every key path defined in the text (including the blocks that hold them).</summary>
    public IReadOnlyCollection<string> KeyPaths => _lines.Keys;

    public static HoconLocator Scan(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var includes = new List<HoconInclude>();
        try
        {
            new Parser(Tokenize(text), lines, includes).ParseDocument();
            return new HoconLocator(lines, includes, null);
        }
        catch (SyntaxException e)
        {
            return new HoconLocator(lines, includes, new HoconSyntaxError(e.Line, e.Message));
        }
    }

    /// <summary>The line of the last definition of <paramref name="keyPath"/> (the one that wins), or null.</summary>
    public int? LineOf(string keyPath) => _lines.TryGetValue(keyPath, out var found) ? found[^1] : null;

    /// <summary>
    /// <paramref name="keyPath"/> or, when it is not in the text (a missing key), its closest enclosing block that is,
    /// with that definition's line; null when not even the top-level key appears.
    /// </summary>
    public (string KeyPath, int Line)? NearestDefined(string keyPath)
    {
        for (var path = keyPath; path.Length > 0; path = Parent(path))
            if (LineOf(path) is { } line)
                return (path, line);
        return null;
    }

    /// <summary><c>a.b[2]</c> → <c>a.b</c> → <c>a</c> → the empty string.</summary>
    static string Parent(string keyPath)
    {
        var cut = Math.Max(keyPath.LastIndexOf('.'), keyPath.LastIndexOf('['));
        return cut < 0 ? "" : keyPath[..cut];
    }

    // ---- tokens ----------------------------------------------------------------------------------------------

    enum Kind { OpenBrace, CloseBrace, OpenBracket, CloseBracket, Assign, Comma, Newline, Quoted, Unquoted, Substitution, End }

    readonly record struct Token(Kind Kind, string Text, int Line, int Start, int End);

    sealed class SyntaxException(int line, string message) : Exception(message)
    {
        public int Line { get; } = line;
    }

    static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var line = 1;
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '\n')
            {
                tokens.Add(new Token(Kind.Newline, "\n", line++, i, i + 1));
                i++;
            }
            else if (char.IsWhiteSpace(c) || c == '\uFEFF')
                i++;
            else if (c == '#' || At(text, i, "//"))
            {
                while (i < text.Length && text[i] != '\n') i++;
            }
            else if (At(text, i, "\"\"\""))
            {
                var end = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
                if (end < 0)
                    throw new SyntaxException(line, "a triple-quoted string starts here but never ends; close it with \"\"\".");
                var body = text[(i + 3)..end];
                var start = i;
                i = end + 3;
                while (i < text.Length && text[i] == '"') i++; // HOCON lets extra quotes end a triple-quoted string
                tokens.Add(new Token(Kind.Quoted, body, line, start, i));
                line += body.Count(ch => ch == '\n');
            }
            else if (c == '"')
            {
                var value = new StringBuilder();
                var j = i + 1;
                for (; ; j++)
                {
                    if (j >= text.Length || text[j] == '\n')
                        throw new SyntaxException(line, "a quoted string starts here but is not closed on the same line; end it with \".");
                    if (text[j] == '"')
                        break;
                    if (text[j] == '\\' && j + 1 < text.Length)
                        j++;
                    value.Append(text[j]);
                }
                tokens.Add(new Token(Kind.Quoted, value.ToString(), line, i, j + 1));
                i = j + 1;
            }
            else if (At(text, i, "${"))
            {
                var end = text.IndexOf('}', i);
                var newline = text.IndexOf('\n', i);
                if (end < 0 || (newline >= 0 && newline < end))
                    throw new SyntaxException(line, "a substitution '${' starts here but is not closed with '}' on the same line.");
                tokens.Add(new Token(Kind.Substitution, text[i..(end + 1)], line, i, end + 1));
                i = end + 1;
            }
            else if (c is '{' or '}' or '[' or ']' or ',' or '=' or ':')
            {
                tokens.Add(new Token(c switch
                {
                    '{' => Kind.OpenBrace,
                    '}' => Kind.CloseBrace,
                    '[' => Kind.OpenBracket,
                    ']' => Kind.CloseBracket,
                    ',' => Kind.Comma,
                    _ => Kind.Assign,
                }, c.ToString(), line, i, i + 1));
                i++;
            }
            else if (At(text, i, "+="))
            {
                tokens.Add(new Token(Kind.Assign, "+=", line, i, i + 2));
                i += 2;
            }
            else
            {
                var start = i;
                while (i < text.Length && !EndsUnquoted(text, i)) i++;
                tokens.Add(new Token(Kind.Unquoted, text[start..i], line, start, i));
            }
        }
        tokens.Add(new Token(Kind.End, "", line, text.Length, text.Length));
        return tokens;
    }

    static bool At(string text, int i, string what) => string.CompareOrdinal(text, i, what, 0, what.Length) == 0;

    static bool EndsUnquoted(string text, int i) =>
        char.IsWhiteSpace(text[i]) || text[i] is '{' or '}' or '[' or ']' or ',' or '=' or ':' or '"' or '#'
        || At(text, i, "//") || At(text, i, "${") || At(text, i, "+=");

    // ---- structure -------------------------------------------------------------------------------------------

    sealed class Parser(List<Token> tokens, Dictionary<string, List<int>> lines, List<HoconInclude> includes)
    {
        int _pos;

        Token Peek => tokens[_pos];

        public void ParseDocument()
        {
            SkipSeparators();
            if (Peek.Kind == Kind.OpenBrace)
            {
                var open = tokens[_pos++];
                ParseObjectBody("", open);
                SkipSeparators();
                if (Peek.Kind != Kind.End)
                    throw new SyntaxException(Peek.Line, $"found {Describe(Peek)} after the '}}' that closes the document's outer '{{'; remove it or move it inside.");
            }
            else
                ParseObjectBody("", null);
        }

        /// <summary>Fields up to the matching '}' (or the end of the text for the document itself).</summary>
        void ParseObjectBody(string prefix, Token? open)
        {
            while (true)
            {
                SkipSeparators();
                var token = Peek;
                switch (token.Kind)
                {
                    case Kind.End when open is { } o:
                        throw new SyntaxException(o.Line, "the '{' on this line is never closed; add the matching '}'.");
                    case Kind.End:
                        return;
                    case Kind.CloseBrace when open is null:
                        throw new SyntaxException(token.Line, "this '}' closes no block; remove it or add the '{' it belongs to.");
                    case Kind.CloseBrace:
                        _pos++;
                        return;
                    case Kind.Unquoted when token.Text == "include" && StartsInclude(tokens[_pos + 1]):
                        ParseInclude(prefix);
                        break;
                    case Kind.Unquoted or Kind.Quoted:
                        ParseField(prefix);
                        break;
                    case Kind.CloseBracket:
                        throw new SyntaxException(token.Line, "this ']' closes no list; remove it or add the '[' it belongs to.");
                    default:
                        throw new SyntaxException(token.Line, $"expected a key here, found {Describe(token)}; entries look like key = value.");
                }
            }
        }

        static bool StartsInclude(Token next) =>
            next.Kind == Kind.Quoted
            || (next.Kind == Kind.Unquoted && IncludeOpeners.Any(o => next.Text.StartsWith(o, StringComparison.Ordinal)));

        static readonly string[] IncludeOpeners = ["required(", "file(", "url(", "classpath("];

        /// <summary><c>include "x"</c>, <c>include file("x")</c>, <c>include required(file("x"))</c> and the like.</summary>
        void ParseInclude(string prefix)
        {
            var include = tokens[_pos++];
            var opening = new StringBuilder();
            while (Peek.Kind == Kind.Unquoted)
                opening.Append(tokens[_pos++].Text);
            if (Peek.Kind != Kind.Quoted)
                throw new SyntaxException(include.Line, "an include names its file in double quotes: include \"other.hocon\" or include file(\"other.hocon\").");
            var target = tokens[_pos++];
            var form = opening.ToString();
            var required = form.StartsWith("required(", StringComparison.Ordinal);
            var inner = required ? form["required(".Length..] : form;
            var scheme = inner.Length == 0 ? "file" : inner.TrimEnd('(');
            var opens = form.Count(c => c == '(');
            if (inner.Length > 0 && (inner.Count(c => c == '(') != 1 || !inner.EndsWith('(') || scheme is not ("file" or "url" or "classpath")))
                throw new SyntaxException(include.Line, $"'include {form}' is not an include form; write include \"x.hocon\", include file(\"x.hocon\") or include required(file(\"x.hocon\")).");
            var end = target.End;
            var closing = new StringBuilder();
            while (closing.Length < opens && Peek.Kind == Kind.Unquoted && Peek.Text.All(c => c == ')'))
            {
                closing.Append(Peek.Text);
                end = tokens[_pos++].End;
            }
            if (closing.Length != opens)
                throw new SyntaxException(include.Line, $"the include of \"{target.Text}\" opens {opens} '(' but closes {closing.Length}; close each one.");
            includes.Add(new HoconInclude(include.Line, prefix, target.Text, scheme, required, include.Start, end));
        }

        void ParseField(string prefix)
        {
            var first = Peek;
            var raw = new StringBuilder();
            var segments = new List<string> { "" };
            for (var n = 0; Peek.Kind is Kind.Unquoted or Kind.Quoted; n++)
            {
                var token = tokens[_pos++];
                if (n > 0)
                {
                    // Whitespace-separated pieces make one key to Akka ("a b c"); keep them together.
                    segments[^1] += " ";
                    raw.Append(' ');
                }
                raw.Append(token.Text);
                if (token.Kind == Kind.Quoted)
                {
                    segments[^1] += token.Text;
                    continue;
                }
                var parts = token.Text.Split('.');
                segments[^1] += parts[0];
                segments.AddRange(parts.Skip(1));
            }
            if (segments.Any(s => s.Length == 0))
                throw new SyntaxException(first.Line, $"the key '{raw}' has an empty part between dots; write it as a.b.c.");

            var path = prefix;
            foreach (var segment in segments)
            {
                path = path.Length == 0 ? segment : $"{path}.{segment}";
                Record(path, first.Line);
            }

            switch (Peek.Kind)
            {
                case Kind.Assign:
                    _pos++;
                    ParseValue(path, first.Line);
                    break;
                case Kind.OpenBrace:
                    ParseValue(path, first.Line);
                    break;
                default:
                    throw new SyntaxException(first.Line, $"the key '{raw}' is not followed by '=' and a value; write {raw} = <value>.");
            }
        }

        /// <summary>One value, possibly a concatenation (<c>hello world</c>, <c>{ a = 1 } { b = 2 }</c>), up to the end of its line.</summary>
        void ParseValue(string path, int keyLine)
        {
            if (Peek.Kind is Kind.Newline or Kind.End or Kind.Comma or Kind.CloseBrace or Kind.CloseBracket)
                throw new SyntaxException(keyLine, $"'{path}' has no value; write one after the '=' (text with spaces or special characters goes in double quotes).");
            while (true)
            {
                var token = Peek;
                switch (token.Kind)
                {
                    case Kind.OpenBrace:
                        _pos++;
                        ParseObjectBody(path, token);
                        break;
                    case Kind.OpenBracket:
                        _pos++;
                        ParseList(path, token);
                        break;
                    case Kind.Quoted or Kind.Unquoted or Kind.Substitution:
                        _pos++;
                        break;
                    case Kind.Assign:
                        throw new SyntaxException(token.Line,
                            $"the value of '{path}' contains an unquoted '{token.Text}'; put the whole value in double quotes (for example device = \"cuda:0\").");
                    default:
                        return;
                }
            }
        }

        void ParseList(string path, Token open)
        {
            for (var index = 0; ; index++)
            {
                SkipSeparators();
                var token = Peek;
                switch (token.Kind)
                {
                    case Kind.End:
                        throw new SyntaxException(open.Line, "the '[' on this line is never closed; add the matching ']'.");
                    case Kind.CloseBracket:
                        _pos++;
                        return;
                    case Kind.CloseBrace:
                        throw new SyntaxException(token.Line, $"found '}}' inside the list '{path}' opened on line {open.Line}; close the list with ']' first.");
                    case Kind.Assign:
                        throw new SyntaxException(token.Line, $"unexpected '{token.Text}' inside the list '{path}'; list elements are values separated by commas.");
                }
                var element = $"{path}[{index}]";
                Record(element, token.Line);
                ParseValue(element, token.Line);
            }
        }

        void SkipSeparators()
        {
            while (Peek.Kind is Kind.Newline or Kind.Comma) _pos++;
        }

        void Record(string path, int line)
        {
            if (!lines.TryGetValue(path, out var found))
                lines[path] = found = [];
            found.Add(line);
        }

        static string Describe(Token token) => token.Kind switch
        {
            Kind.End => "the end of the text",
            Kind.Newline => "a line break",
            Kind.Quoted => $"\"{token.Text}\"",
            _ => $"'{token.Text}'",
        };
    }
}
