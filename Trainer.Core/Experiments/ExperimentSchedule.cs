namespace TrainManager.Experiments;

/// <summary>
/// What the coordinator needs from a submitted experiment to queue and place it: its name, its length, and how many
/// workers it takes. The client has already checked the whole experiment against its component catalog, and the worker
/// that runs it checks it against the catalog it builds runs from; the coordinator holds no catalog and knows no
/// component types, so between the two it only refuses text that is not an experiment (syntax, unknown keys, values of
/// the wrong type or range: the schema every side shares) and reads the numbers it schedules by.
/// </summary>
public sealed record ExperimentSchedule(string Name, int Epochs, int Workers, int MinWorkers, TimeSpan ReplacementWait)
{
    /// <summary>Reads the schedule of the resolved experiment text a client submitted.</summary>
    /// <param name="source">Names the text in errors, e.g. <c>experiment 'mnist'</c>.</param>
    /// <exception cref="ExperimentException">The text is not a valid experiment; the message says where and what to do.</exception>
    public static ExperimentSchedule Read(string experimentHocon, string source)
    {
        var experiment = ExperimentLoader.Parse(experimentHocon, source);
        return new ExperimentSchedule(experiment.Name, experiment.Epochs, experiment.Workers,
            experiment.DataParallel.MinWorkers, experiment.DataParallel.ReplacementWait);
    }
}
