using Spectre.Console;

namespace TrainManager.Tests.Cli;

/// <summary>A Spectre console that records plain text (no colours, no live rendering), wide enough not to wrap messages.</summary>
internal sealed class RecordingConsole
{
    readonly StringWriter _writer = new();

    public RecordingConsole(bool interactive = false)
    {
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = interactive ? AnsiSupport.Yes : AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
            Out = new AnsiConsoleOutput(_writer),
        });
        Console.Profile.Width = 400;
    }

    public IAnsiConsole Console { get; }

    public string Output => _writer.ToString();
}
