namespace TrainManager.Extensions.Plots;

/// <summary>
/// The gradient of every parameter that has one, at one step, reduced to two numbers: the L2 norm and the largest
/// magnitude (max |g|). Parallel lists, in the model's parameter order; NaN or infinity where the gradient holds them.
/// </summary>
public sealed record GradientMeasurement(long Step, IReadOnlyList<string> Names, IReadOnlyList<double> Norms, IReadOnlyList<double> MaxMagnitudes);
