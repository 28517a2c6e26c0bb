using TrainManager.Stages;

namespace TrainManager.Tests.Stages;

/// <summary>The one "did you mean" rule every error message uses: a typo within a third of the name's length (at least
/// one edit), ignoring case and '_' versus '-', closest first.</summary>
public sealed class DidYouMeanTests
{
    static readonly string[] Keys = ["epochs", "batch-size", "optimizer", "scheduler", "lr"];

    [Theory]
    [InlineData("epcohs", "epochs")]          // a transposition is one edit
    [InlineData("Batch_Size", "batch-size")]  // case and '_' are not edits
    [InlineData("optimiser", "optimizer")]    // one substitution in nine letters
    [InlineData("epoch", "epochs")]           // one deletion in five letters: the floor of one edit
    [InlineData("lt", "lr")]                  // a two-letter name still gets its one edit
    [InlineData("schedulre", "scheduler")]
    [InlineData("colour", null)]              // nothing near
    [InlineData("epx", null)]                 // "epochs" is three edits away, a third of three letters allows one
    [InlineData("bach-sz", null)]             // three edits in seven letters: more than a third
    [InlineData("optmzer", "optimizer")]      // two edits in seven letters: a third allows two
    public void The_closest_candidate_within_the_threshold_is_suggested(string typed, string? expected) =>
        Assert.Equal(expected, DidYouMean.Closest(typed, Keys));

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(5, 1)]
    [InlineData(6, 2)]
    [InlineData(9, 3)]
    public void The_allowed_edits_are_a_third_of_the_length_and_at_least_one(int length, int allowed) =>
        Assert.Equal(allowed, DidYouMean.AllowedEdits(new string('x', length)));

    [Fact]
    public void Ranked_lists_the_closest_first_and_keeps_the_candidates_order_on_ties() =>
        Assert.Equal(["los", "lost", "loss"], DidYouMean.Ranked("los", ["boss", "lost", "loss", "los", "moss"]));

    [Fact]
    public void Ranked_stops_at_the_maximum() =>
        Assert.Equal(["lost"], DidYouMean.Ranked("losx", ["lost", "loss"], max: 1));

    [Fact]
    public void A_hint_is_a_sentence_to_append_or_nothing()
    {
        Assert.Equal(" Did you mean 'epochs'?", DidYouMean.Hint("epohcs", Keys));
        Assert.Equal("", DidYouMean.Hint("colour", Keys));
    }
}
