using System.Diagnostics;
using System.Security.Cryptography;
using TrainManager.Cli;

namespace TrainManager.Tests.Cli;

/// <summary>
/// A training project of one's own, as a new user makes it: the framework packed, <c>trainmanager new</c>, then
/// <c>train</c>, <c>eval</c> and <c>check-leakage</c> through the CLI, and the project's own extension test. Builds real
/// projects with the .NET SDK, so it takes a minute or two.
/// </summary>
public sealed class TrainingProjectTemplateTests
{
    [Fact]
    public void A_project_from_the_template_builds_trains_evaluates_and_passes_its_own_test()
    {
        var root = TestDirectory.Create("template");
        var (packages, version) = PackTheFramework(root);
        var project = Path.Combine(root, "MyModels");

        var created = new RecordingConsole();
        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["new", project, "--packages", packages, "--framework-version", version], created.Console));
        Assert.Contains("Created MyModels", created.Output);
        var experiment = Path.Combine(project, "experiment.hocon");

        // A few batches; the project's own extension (target 0: reached at once) ends training after the first epoch.
        var train = new RecordingConsole();
        var exit = TrainManagerApp.Run(["train", experiment, "--runs-dir", Path.Combine(root, "runs"),
            "--set", "epochs=3", "--set", "data.train=320", "--set", "data.test=64",
            "--set", "extensions:=[{ type = progress, mode = lines }, { type = stop-at-target, metric = val_accuracy, target = 0 }]"], train.Console);
        Assert.True(exit == ExitCodes.Success, train.Output);
        Assert.Contains("building the training project", train.Output);
        Assert.Contains("Stopped early: val_accuracy reached", train.Output);
        var run = Assert.Single(Directory.GetDirectories(Path.Combine(root, "runs")));
        Assert.True(File.Exists(Path.Combine(run, "code", "bin", "MyModels.dll")), "the run keeps the build it trained with");
        Assert.Contains("horizontal-bar", File.ReadAllText(Path.Combine(run, "labels.json")));

        // eval with a free override of an instantiation parameter, on the build the run recorded.
        var eval = new RecordingConsole();
        Assert.True(ExitCodes.Success == TrainManagerApp.Run(["eval", run, "--set", "model.args.dropout=0.2"], eval.Console), eval.Output);
        Assert.Contains("the build the run used", eval.Output);
        Assert.Contains("dropout", eval.Output);
        Assert.Contains("Evaluation", eval.Output);

        var leakage = new RecordingConsole();
        Assert.True(ExitCodes.Success == TrainManagerApp.Run(["check-leakage", experiment], leakage.Console), leakage.Output);
        Assert.Contains("No batch leakage found", leakage.Output);

        var (testExit, testOutput) = Dotnet(project, "test", "MyModels.Tests", "--nologo", "-v", "q", "--disable-build-servers");
        Assert.True(testExit == 0, testOutput);
        Assert.Contains("Passed!", testOutput);

        // Put under git as it is after building, training and testing (a train run from the project's folder leaves runs/
        // and the embedded cluster's .trainmanager/ there too): only the sources are there to commit.
        Directory.CreateDirectory(Path.Combine(project, "runs", "20260101-000000-my-models-0000"));
        File.WriteAllText(Path.Combine(project, "runs", "20260101-000000-my-models-0000", "experiment.hocon"), "name = my-models\n");
        Directory.CreateDirectory(Path.Combine(project, ".trainmanager"));
        File.WriteAllText(Path.Combine(project, ".trainmanager", "journal.db"), "");
        TrainManager.Tests.Extensions.Provenance.ThrowawayRepository.RunGit(project, "init", "--quiet");
        var untracked = TrainManager.Tests.Extensions.Provenance.ThrowawayRepository.RunGit(project, "status", "--porcelain", "--untracked-files=all")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line[3..]).ToList();
        Assert.Contains(".gitignore", untracked);
        Assert.Contains("MyModels/MyModels.csproj", untracked);
        Assert.DoesNotContain(untracked, path => path.Contains("/bin/", StringComparison.Ordinal) || path.Contains("/obj/", StringComparison.Ordinal)
                                                 || path.StartsWith("runs/", StringComparison.Ordinal) || path.StartsWith(".trainmanager/", StringComparison.Ordinal));
    }

    [Fact]
    public void A_project_that_does_not_compile_is_reported_with_the_compilers_errors_and_exit_2()
    {
        var root = TestDirectory.Create("broken-project");
        var project = Path.Combine(root, "Broken");
        Directory.CreateDirectory(project);
        File.WriteAllText(Path.Combine(project, "Broken.csproj"),
            "<Project Sdk=\"Microsoft.NET.Sdk\"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>");
        File.WriteAllText(Path.Combine(project, "Model.cs"), "namespace Broken; public class Model { int x = \"text\"; }");
        var experiment = CliPaths.WriteExperiment(root, """
            epochs = 1
            batch-size = 8
            code { project = "Broken" }
            model { type = mlp }
            data { dataset = fashion-mnist }
            """);

        var console = new RecordingConsole();

        Assert.Equal(ExitCodes.BadInput, TrainManagerApp.Run(["train", experiment, "--runs-dir", Path.Combine(root, "runs")], console.Console));
        Assert.Contains("Model.cs(1,", console.Output.Replace("\n", "", StringComparison.Ordinal));
        Assert.Contains("error CS0029", console.Output);
        Assert.False(Directory.Exists(Path.Combine(root, "runs")), "a project that does not build leaves no run behind");
    }

    /// <summary>Packs the framework as built for this test run, under a version named by its bytes, so a package cache
    /// holding an older build of the same version is never used.</summary>
    internal static (string Folder, string Version) PackTheFramework(string root)
    {
        var checkout = Checkout();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var assembly in new[] { "TrainManager.Core.dll", "TrainManager.Extensions.dll", "TrainManager.TestKit.dll" })
            hash.AppendData(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, assembly)));
        var version = $"{NewCommand.FrameworkVersion()}-test.{Convert.ToHexStringLower(hash.GetHashAndReset())[..12]}";
        var folder = Path.Combine(root, "packages");
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // bin/<Configuration>/net10.0
        var (exit, output) = Dotnet(checkout, "pack", "TrainManager.sln", "--no-build", "-c", configuration, "-o", folder,
            $"-p:Version={version}", "--nologo", "-v", "q");
        Assert.True(exit == 0, output);
        return (folder, version);
    }

    static string Checkout()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            if (File.Exists(Path.Combine(folder.FullName, "TrainManager.sln")))
                return folder.FullName;
        throw new InvalidOperationException($"No TrainManager.sln above {AppContext.BaseDirectory}.");
    }

    internal static (int Exit, string Output) Dotnet(string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        // The SDK this test process was started by must not leak into the child's own build.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(name);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(8)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, output + error.Result + "\n(timed out after 8 minutes)");
        }
        return (process.ExitCode, output + error.Result);
    }
}
