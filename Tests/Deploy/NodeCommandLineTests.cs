using System.Text.RegularExpressions;
using TrainManager.Protocol.Configuration;

namespace TrainManager.Tests.Deploy;

/// <summary>Trainer.Node's flags: what they set, what they refuse, and that the help and cluster.hocon list them.</summary>
public sealed class NodeCommandLineTests
{
    readonly NodeParser _node = NodeParser.Load();

    [Fact]
    public void Data_host_and_data_port_flags_reach_the_node_settings()
    {
        var (_, flags) = _node.Parse(["--host", "0.0.0.0", "--data-host", "node7.example.org", "--data-port", "5001"]);

        var settings = TrainManagerSettings.From(ClusterConfiguration.Build(null, flags.Over(new ClusterOverrides { Secret = TrainManager.Protocol.Security.ClusterSecret.Random() })));

        Assert.Equal("node7.example.org", settings.DataHost);
        Assert.Equal("0.0.0.0", settings.DataBindHost);
        Assert.Equal(5001, settings.DataPort);
    }

    [Fact]
    public void Data_flags_win_over_their_environment_variables()
    {
        var (_, flags) = _node.Parse(["--data-port", "6001"]);
        var environment = ClusterOverrides.FromEnvironment(name => name switch
        {
            "TRAINMANAGER_DATA_HOST" => "10.0.0.9",
            "TRAINMANAGER_DATA_PORT" => "5001",
            _ => null,
        });

        var settings = TrainManagerSettings.From(ClusterConfiguration.Build(null, flags.Over(environment).Over(new ClusterOverrides { Secret = TrainManager.Protocol.Security.ClusterSecret.Random() })));

        Assert.Equal(6001, settings.DataPort); // the flag
        Assert.Equal("10.0.0.9", settings.DataHost); // the environment
    }

    [Theory]
    [InlineData("70000")]
    [InlineData("-1")]
    [InlineData("five")]
    public void A_data_port_out_of_range_is_refused_naming_the_flag(string port)
    {
        var error = _node.Error(["--data-port", port]);

        Assert.Equal($"--data-port is '{port}'; a port is a number from 1 to 65535 (0: any free port).", error);
    }

    [Fact]
    public void A_data_port_flag_without_its_value_shows_one()
    {
        Assert.Equal("--data-port needs a value, e.g. --data-port 5001.", _node.Error(["--data-port", "--devices", "cpu"]));
    }

    [Fact]
    public void The_help_and_the_table_in_cluster_hocon_pair_each_flag_with_the_same_variable()
    {
        // Help rows end with the variable: "  --data-port P   gradients: ...   TRAINMANAGER_DATA_PORT".
        var rows = Regex.Matches(_node.Usage, @"^\s+(--[a-z-]+) .*\s(TRAINMANAGER_[A-Z_]+)$", RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        var read = new HashSet<string>(StringComparer.Ordinal);
        ClusterOverrides.FromEnvironment(name => { read.Add(name); return null; });
        var table = File.ReadLines(Path.Combine(Experiments.ExperimentText.RepositoryRoot, "cluster.hocon")).TakeWhile(l => l.StartsWith('#')).ToList();

        Assert.Contains("--data-host", rows.Keys);
        Assert.Contains("--data-port", rows.Keys);
        foreach (var (flag, variable) in rows)
        {
            Assert.True(read.Contains(variable), $"--help pairs {flag} with {variable}, which the node does not read.");
            Assert.True(table.Any(l => Regex.IsMatch(l, $@"^#\s+[a-z][\w.-]*\s+{Regex.Escape(flag)} .*\s{variable}$")),
                $"cluster.hocon's table has no row for {flag} with {variable}.");
        }
    }
}
