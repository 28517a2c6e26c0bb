namespace TrainManager.Node.Bundles;

/// <summary>A run needs a bundle where none can be fetched (a worker made without a cache or coordinator).</summary>
public sealed class BundleUnsupportedException(string message) : Exception(message), TrainManager.Experiments.IBadInput;
