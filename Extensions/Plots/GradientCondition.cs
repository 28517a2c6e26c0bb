namespace TrainManager.Extensions.Plots;

/// <summary>What a parameter's gradient looks like at a measured step.</summary>
public enum GradientCondition
{
    Healthy,
    /// <summary>Every |g| is below the vanish threshold: the parameter has stopped learning.</summary>
    Vanishing,
    /// <summary>The gradient holds NaN or infinity, or its norm is above the explode threshold.</summary>
    Exploding,
}
