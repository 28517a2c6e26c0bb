namespace TrainManager.Extensions.Report;

/// <summary>One epoch's metrics by name (<c>train_loss</c>, <c>test_accuracy</c>, ...); NaN where not measured.</summary>
public sealed record EpochMetrics(int Epoch, IReadOnlyDictionary<string, double> Values);
