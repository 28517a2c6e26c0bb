using System.Text;
using Spectre.Console;

namespace TrainManager.Node;

/// <summary>
/// Where a run's console extensions (progress) write on a node: the node's standard output, one plain line at a time,
/// each prefixed with the run id, since a node with several slots interleaves several runs in one log.
/// </summary>
public static class RunLogConsole
{
    public static IAnsiConsole For(string runId)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(new PrefixedLineWriter($"[{runId}] ", Console.Out)),
        });
        console.Profile.Width = 200;
        return console;
    }

    /// <summary>Buffers a line and writes it whole, with the prefix, when it ends.</summary>
    sealed class PrefixedLineWriter(string prefix, TextWriter target) : TextWriter
    {
        readonly StringBuilder _line = new();
        readonly Lock _lock = new();

        public override Encoding Encoding => target.Encoding;

        public override void Write(char value)
        {
            lock (_lock)
            {
                if (value == '\n')
                {
                    target.WriteLine(prefix + _line.ToString().TrimEnd('\r'));
                    _line.Clear();
                }
                else
                    _line.Append(value);
            }
        }
    }
}
