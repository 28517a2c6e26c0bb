namespace TrainManager.Extensions.Plots;

/// <summary>One training sample's loss: its index in the training set, and the epoch and step it was seen at.</summary>
public readonly record struct SampleLoss(long SampleIndex, double Loss, int Epoch, long Step);
