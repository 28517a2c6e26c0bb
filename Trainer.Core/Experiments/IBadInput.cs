namespace TrainManager.Experiments;

/// <summary>
/// Marks an exception caused by what the user gave (the experiment, a command-line argument, the data, a checkpoint,
/// the device asked for), which they can fix without changing code. <see cref="BadInput.Is"/> is the one rule
/// every entry point classifies failures by: the CLI exits 2 and prints the message alone; a cluster run fails as bad
/// input, not as a crash.
/// </summary>
public interface IBadInput;
