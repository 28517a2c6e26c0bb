namespace TrainManager.Node.GradientExchange.Ring;

/// <summary>What a ring collective is, as agreed on between neighbours.</summary>
internal enum RingCollective
{
    AllReduceSum = 1,
    AllReduceMean = 2,
    Barrier = 3,
}

/// <summary>Which part of a collective a step belongs to.</summary>
internal enum RingPhase
{
    Agreement,
    ReduceScatter,
    AllGather,
    Barrier,
}

/// <summary>
/// Names one exchange for error messages. A value type formatted only when something fails, so that naming every
/// step costs nothing on the hot path.
/// </summary>
internal readonly record struct RingStep(RingCollective Collective, long Sequence, RingPhase Phase, int Index, int Count)
{
    public static string Name(RingCollective collective) => collective switch
    {
        RingCollective.AllReduceSum => "all-reduce (sum)",
        RingCollective.AllReduceMean => "all-reduce (mean)",
        RingCollective.Barrier => "barrier",
        _ => $"unknown collective {(int)collective}",
    };

    public override string ToString()
    {
        var phase = Phase switch
        {
            RingPhase.Agreement => "agreeing on the collective",
            RingPhase.ReduceScatter => $"reduce-scatter step {Index + 1} of {Count}",
            RingPhase.AllGather => $"all-gather step {Index + 1} of {Count}",
            _ => $"step {Index + 1} of {Count}",
        };
        return $"{Name(Collective)} #{Sequence} ({phase})";
    }
}
