using TrainManager.Experiments;

namespace TrainManager.Tests.Experiments;

public sealed class DidYouMeanTests
{
    [Theory]
    [InlineData("epcohs", "epochs")]
    [InlineData("Batch_Size", "batch-size")]
    [InlineData("optimiser", "optimizer")]
    public void A_typo_finds_the_known_name(string typed, string expected) =>
        Assert.Equal(expected, DidYouMean.Closest(typed, ["epochs", "batch-size", "optimizer", "scheduler"]));

    [Fact]
    public void A_name_unlike_every_candidate_gets_no_suggestion() =>
        Assert.Null(DidYouMean.Closest("colour", ["epochs", "batch-size", "optimizer"]));
}
