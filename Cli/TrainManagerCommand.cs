using Spectre.Console;
using Spectre.Console.Cli;
using TrainManager.Experiments;

namespace TrainManager.Cli;

/// <summary>
/// The error policy of every verb, in one place: mistakes in the input (experiment, arguments, data location,
/// checkpoint) print their message in red and exit with <see cref="ExitCodes.BadInput"/>; anything else is a failed
/// run, <see cref="ExitCodes.RunFailed"/>. Neither prints a stack trace: the message is written to be read.
/// </summary>
public abstract class TrainManagerCommand<TSettings>(IAnsiConsole console) : Command<TSettings> where TSettings : CommandSettings
{
    protected IAnsiConsole Console { get; } = console;

    protected abstract int Run(TSettings settings, CancellationToken cancellationToken);

    public sealed override int Execute(CommandContext context, TSettings settings, CancellationToken cancellationToken)
    {
        try
        {
            return Run(settings, cancellationToken);
        }
        catch (Exception e)
        {
            var cause = e is RunFailedException failed ? failed.InnerException! : e;
            var badInput = IsBadInput(cause);
            Console.Write(new Text(badInput ? cause.Message : $"The run failed: {BadInput.Describe(cause)}", new Style(Color.Red)));
            Console.WriteLine();
            if (e is RunFailedException withDetails)
                Console.WriteLine($"The full error is in {withDetails.ErrorFile}.");
            return badInput ? ExitCodes.BadInput : ExitCodes.RunFailed;
        }
    }

    /// <summary>Whether <paramref name="e"/> is a mistake in what the user gave, which they can fix without a code change.</summary>
    public static bool IsBadInput(Exception e) => BadInput.Is(e);
}
