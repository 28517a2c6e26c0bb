using System.Text.RegularExpressions;
using TrainManager.Training;

namespace TrainManager.Tests.Training;

public sealed class RunDirectoryTests
{
    [Fact]
    public void A_run_id_carries_the_start_time_the_name_and_32_random_bits()
    {
        var ids = Enumerable.Range(0, 2000).Select(_ => RunDirectory.NewId("my exp")).ToList();

        Assert.All(ids, id => Assert.Matches(new Regex(@"^\d{8}-\d{6}-my-exp-[0-9a-f]{8}$"), id));
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void A_given_run_id_whose_directory_already_holds_a_run_is_refused_and_the_run_there_is_untouched()
    {
        var experiment = TrainingFixtures.Mlp(TrainingFixtures.TempDir());
        var first = RunDirectory.Create(experiment, id: "20260101-000000-mlp-slice-0000abcd");
        File.WriteAllText(first.ExperimentFile, "name = the first run\n");

        var error = Assert.Throws<IOException>(() => RunDirectory.Create(experiment, id: first.Id));

        Assert.Contains($"The run directory {first.Path} already holds a run", error.Message);
        Assert.Equal("name = the first run\n", File.ReadAllText(first.ExperimentFile));
    }

    [Fact]
    public void Runs_created_at_once_each_get_their_own_directory()
    {
        var experiment = TrainingFixtures.Mlp(TrainingFixtures.TempDir());

        var runs = Enumerable.Range(0, 64).AsParallel().Select(_ => RunDirectory.Create(experiment)).ToList();

        Assert.Equal(64, runs.Select(r => r.Path).Distinct().Count());
        Assert.Equal(64, Directory.GetDirectories(experiment.RunsDirectory).Length);
    }
}
