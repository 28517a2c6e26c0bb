using System.Diagnostics;
using System.Text.RegularExpressions;
using Akka.Configuration;
using TrainManager.Protocol.Configuration;
using TrainManager.Protocol.Security;

namespace TrainManager.Tests.Deploy;

/// <summary>
/// deploy/ (launcher script, systemd units, Dockerfile, compose file, Kubernetes manifests) cannot be run on the
/// development machines, so these tests keep it honest against the code: every flag handed to a node is parsed by the
/// node's own parser, every TRAINMANAGER_* variable is one the program reads, and each node's settings, as the deploy
/// files give them, are built into a configuration by the node's own code and say what that node should be.
/// </summary>
public sealed class DeployFilesTests
{
    static readonly string Root = FindRepositoryRoot();
    static readonly string DeployDirectory = Path.Combine(Root, "deploy");

    // ---- flags --------------------------------------------------------------------------------------------------------

    [Fact]
    public void Every_flag_given_to_a_node_is_parsed_by_the_node()
    {
        var parse = NodeParser.Load();
        var setups = AllNodeSetups().ToList();
        Assert.NotEmpty(setups);
        foreach (var setup in setups)
        {
            var error = parse.Error(setup.Args);
            Assert.True(error is null, $"{setup.Source}: the node refuses its arguments [{string.Join(' ', setup.Args)}]: {error}");
        }

        // The script's flags are built with shell variables; their names are checked against the parser's.
        var nodeFlags = NodeFlags();
        var scriptLines = File.ReadAllLines(Path.Combine(DeployDirectory, "local-cluster.sh")).Where(l => l.Contains("node_args=(") || l.Contains("node_args+=(")).ToList();
        Assert.NotEmpty(scriptLines);
        foreach (var flag in scriptLines.SelectMany(Flags))
        {
            Assert.True(nodeFlags.Contains(flag), $"local-cluster.sh gives the node {flag}, which Trainer.Node does not parse (it has {string.Join(", ", nodeFlags.Order())}).");
            Assert.Null(parse.Error([flag, SampleValue(flag)]));
        }
    }

    [Fact]
    public void Every_flag_written_in_deploy_files_belongs_to_the_node_the_cli_or_a_named_tool()
    {
        var known = NodeFlags().Concat(CliFlags()).Concat(OtherToolsFlags).ToHashSet(StringComparer.Ordinal);
        foreach (var file in DeployFiles())
            foreach (var (line, number) in File.ReadLines(file).Select((l, i) => (l, i + 1)))
                foreach (var flag in Flags(line))
                    Assert.True(known.Contains(flag), $"{Relative(file)}:{number}: {flag} is no flag of trainmanager-node, trainmanager or the tools these files use.");
    }

    /// <summary>Flags of the other programs deploy/ shows, by program, so a misspelt node or CLI flag stands out.</summary>
    static readonly string[] OtherToolsFlags =
    [
        "--project", "--filter", "--self-contained", "--no-restore",              // dotnet run, test, publish
        "--from", "--build-arg", "--entrypoint", "--rm",                          // docker build, Dockerfile COPY --from, docker run
        "--build", "--profile", "--use-aliases",                                  // docker compose
        "--from-literal", "--replicas",                                           // kubectl create secret, scale
        "--now",                                                                  // systemctl enable --now
        "--system", "--uid", "--gid", "--home-dir", "--shell",                    // useradd, groupadd
        "--no-install-recommends",                                                // apt-get
        "--no-sync", "--pwfile",                                                  // initdb
    ];

    // ---- environment variables ----------------------------------------------------------------------------------------

    [Fact]
    public void Every_TRAINMANAGER_variable_in_deploy_files_is_read_by_the_program()
    {
        // What the node reads: ask the real reader which names it looks up.
        var read = new HashSet<string>(StringComparer.Ordinal);
        ClusterOverrides.FromEnvironment(name => { read.Add(name); return null; });
        Assert.Contains("TRAINMANAGER_HOST", read);
        // Read elsewhere (the CLI's TRAINMANAGER_CLUSTER, tracing): named in the product's sources.
        var named = ProductSources().SelectMany(f => VariableName.Matches(File.ReadAllText(f)).Select(m => m.Value));
        var known = read.Concat(named).ToHashSet(StringComparer.Ordinal);

        foreach (var file in DeployFiles())
            foreach (var (line, number) in File.ReadLines(file).Select((l, i) => (l, i + 1)))
                foreach (Match m in VariableName.Matches(line))
                    Assert.True(known.Contains(m.Value), $"{Relative(file)}:{number}: {m.Value} is read by no part of Train Manager.");
    }

    static readonly Regex VariableName = new(@"\bTRAINMANAGER_[A-Z0-9_]*[A-Z0-9]\b");

    // ---- each node's configuration ------------------------------------------------------------------------------------

    [Fact]
    public void Each_node_of_the_deploy_files_gets_a_configuration_the_node_accepts()
    {
        var parse = NodeParser.Load();
        var handBack = TrainManagerSettings.From(ClusterConfiguration.Defaults).HandBackTimeout;
        foreach (var group in AllNodeSetups().GroupBy(s => s.Group))
        {
            var built = group.Select(setup => (Setup: setup, Config: Build(parse, setup))).ToList();
            foreach (var (setup, config) in built)
            {
                var settings = TrainManagerSettings.From(config);
                var roles = config.GetStringList("akka.cluster.roles");
                Assert.True(roles.Count > 0 && roles.All(r => NodeRoles.ServerRoles.Contains(r)), $"{setup.Source}: roles [{string.Join(", ", roles)}]");
                if (roles.Contains(NodeRoles.Coordinator))
                {
                    Assert.True(settings.Store == JournalStore.PostgreSql, $"{setup.Source}: a cluster's coordinator keeps its journal in PostgreSQL, not {settings.Store}.");
                    Assert.Contains("Database=trainmanager", settings.JournalConnectionString);
                }
                if (roles.Contains(NodeRoles.Worker))
                    Assert.True(settings.Devices.Count > 0, $"{setup.Source}: a worker without devices");
                Assert.True(setup.ExpectedRunsDirectory == settings.RunsDirectory,
                    $"{setup.Source}: runs go to {settings.RunsDirectory}, but the shared runs directory is {setup.ExpectedRunsDirectory}.");
                var host = config.GetString("akka.remote.dot-netty.tcp.hostname");
                Assert.True(host != "127.0.0.1", $"{setup.Source}: a node of a real cluster bound to loopback cannot be reached.");
                Assert.True(settings.HandBackTimeout == handBack, $"{setup.Source}: the stop timeouts below assume the default hand-back timeout");
            }

            // One cluster: the same seeds everywhere, and each coordinator is a seed under the address it advertises, so
            // the first one forms the cluster and a restarted one finds it.
            var seeds = built.Select(b => string.Join(",", b.Config.GetStringList("akka.cluster.seed-nodes"))).Distinct().ToList();
            Assert.True(seeds.Count == 1, $"{group.Key}: the nodes name different seed nodes: {string.Join(" | ", seeds)}");
            foreach (var (setup, config) in built.Where(b => b.Config.GetStringList("akka.cluster.roles").Contains(NodeRoles.Coordinator)))
            {
                var protocol = config.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl") ? ClusterConfiguration.TlsProtocol : "akka.tcp://";
                var self = $"{protocol}{ClusterConfiguration.SystemName}@{config.GetString("akka.remote.dot-netty.tcp.hostname")}:{config.GetInt("akka.remote.dot-netty.tcp.port")}";
                Assert.True(config.GetStringList("akka.cluster.seed-nodes").Contains(self), $"{setup.Source}: the coordinator {self} is not among the seeds {seeds[0]}.");
            }
            Assert.Contains(built, b => b.Config.GetStringList("akka.cluster.roles").Contains(NodeRoles.Coordinator));
            Assert.Contains(built, b => b.Config.GetStringList("akka.cluster.roles").Contains(NodeRoles.Worker));
        }
    }

    // ---- secrets and passwords -----------------------------------------------------------------------------------------

    [Fact]
    public void Every_node_names_a_cluster_secret_file_that_its_deploy_method_provides()
    {
        var setups = AllNodeSetups().ToList();
        Assert.Contains(setups, s => s.Group == "systemd");
        Assert.Contains(setups, s => s.Group == "compose");
        Assert.Contains(setups, s => s.Group == "kubernetes");
        foreach (var setup in setups)
        {
            Assert.True(setup.Environment.TryGetValue(SecretFileVariable, out var file) && file.Length > 0,
                $"{setup.Source}: no {SecretFileVariable}; a node reachable from other machines refuses to start without the cluster secret.");
            if (setup.ProvidedSecretFiles is { } provided)
                Assert.True(provided.Contains(file),
                    $"{setup.Source}: {SecretFileVariable}={file}, but the deploy method puts secrets only at [{string.Join(", ", provided)}]");
            else
                Assert.True(file.StartsWith("/etc/trainmanager/", StringComparison.Ordinal),
                    $"{setup.Source}: {SecretFileVariable}={file}, outside /etc/trainmanager where deploy/README.md installs it");
        }
        // The operator is told how to make it, once, for each method.
        var readme = File.ReadAllText(Path.Combine(DeployDirectory, "README.md"));
        foreach (var made in new[] { "trainmanager secret /etc/trainmanager/cluster.secret", "trainmanager secret deploy/docker/cluster.secret", "trainmanager secret deploy/kubernetes/secrets/cluster.secret" })
            Assert.Contains(made, readme);
    }

    [Fact]
    public void Every_node_not_on_loopback_has_TLS_on_with_a_certificate_and_the_CA_its_deploy_method_provides()
    {
        var parse = NodeParser.Load();
        var setups = AllNodeSetups().ToList();
        Assert.Contains(setups, s => s.Group == "systemd");
        Assert.Contains(setups, s => s.Group == "compose");
        Assert.Contains(setups, s => s.Group == "kubernetes");
        foreach (var setup in setups)
        {
            var config = Build(parse, setup); // with TLS on, Build also runs the node's own TLS check on stand-in files
            var host = config.GetString("akka.remote.dot-netty.tcp.hostname");
            Assert.False(ClusterSecret.IsLoopback(host), $"{setup.Source}: bound to loopback ({host})");
            Assert.True(config.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl"), $"{setup.Source}: a node at {host} without TLS");
            foreach (var (variable, key) in TlsFiles)
            {
                var file = setup.Environment.GetValueOrDefault(variable) ?? ConfigFileValue(setup, key);
                Assert.True(!string.IsNullOrEmpty(file), $"{setup.Source}: TLS is on but neither {variable} nor {key} names a file; the node would refuse to start.");
                if (setup.ProvidedSecretFiles is { } provided)
                    Assert.True(provided.Contains(file), $"{setup.Source}: {variable}={file}, but the deploy method puts files only at [{string.Join(", ", provided)}]");
                else
                    Assert.True(file.StartsWith("/etc/trainmanager/", StringComparison.Ordinal), $"{setup.Source}: {variable}={file}, outside /etc/trainmanager where deploy/README.md installs it");
            }
        }

        // The compose CLI container is no node, but joins the same cluster: it needs the same files.
        var cli = ComposeService("cli");
        foreach (var (variable, _) in TlsFiles)
        {
            var entry = Regex.Match(cli, $@"^      {variable}:\s*(\S+)\s*$", RegexOptions.Multiline);
            Assert.True(entry.Success, $"compose.yaml service cli: no {variable}");
            var secret = entry.Groups[1].Value.Replace("/run/secrets/", "");
            Assert.True(Regex.IsMatch(cli, $@"^      - {Regex.Escape(secret)}\s*$", RegexOptions.Multiline),
                $"compose.yaml service cli: {variable}={entry.Groups[1].Value}, but the service's secrets: do not list {secret}");
        }

        // The operator is told how to make the CA and the certificates, for each method.
        var readme = File.ReadAllText(Path.Combine(DeployDirectory, "README.md"));
        foreach (var made in new[]
                 {
                     "trainmanager tls ca deploy/docker/ca", "trainmanager tls certificate --ca deploy/docker/ca --host coordinator,worker-1,worker-2,cli deploy/docker/node.pfx",
                     "trainmanager tls ca deploy/kubernetes/secrets/ca", "deploy/kubernetes/secrets/node.pfx",
                     "/etc/trainmanager/node.pfx", "/etc/trainmanager/ca.crt",
                 })
            Assert.Contains(made, readme);
    }

    [Fact]
    public void No_deploy_file_recommends_turning_certificate_validation_off_or_a_self_signed_certificate()
    {
        foreach (var file in DeployFiles().Append(Path.Combine(Root, "README.md")))
            foreach (var (line, number) in File.ReadLines(file).Select((l, i) => (l, i + 1)))
            {
                Assert.False(Regex.IsMatch(line, @"^\s*(#\s*)?([\w.-]+\.)?suppress-validation\s*=\s*(true|on|yes)"), $"{Relative(file)}:{number}: {line.Trim()}");
                Assert.False(Regex.IsMatch(line, @"openssl\s+(req|pkcs12|x509)\b"), $"{Relative(file)}:{number}: a certificate made outside the cluster's CA: {line.Trim()}");
            }
    }

    [Fact]
    public void No_deploy_file_ships_a_default_password()
    {
        foreach (var file in DeployFiles())
            foreach (var (line, number) in File.ReadLines(file).Select((l, i) => (l, i + 1)))
            {
                Assert.False(Regex.IsMatch(line, @"change-?me", RegexOptions.IgnoreCase), $"{Relative(file)}:{number}: a placeholder password: {line.Trim()}");
                // A password written into a file: only a variable or the operator's own file may give one.
                Assert.False(WrittenPassword.IsMatch(line), $"{Relative(file)}:{number}: a password written in the file: {line.Trim()}");
                Assert.False(Regex.IsMatch(line, @"\$\{\w*PASSWORD\w*:?-"), $"{Relative(file)}:{number}: a default for a password: {line.Trim()}");
                Assert.False(Regex.IsMatch(line, @"POSTGRES_HOST_AUTH_METHOD|auth-(host|local)=trust|-A\s+trust"), $"{Relative(file)}:{number}: PostgreSQL without passwords: {line.Trim()}");
            }
        // Kubernetes credentials come only from the operator's files (secretGenerator), never from a manifest.
        foreach (var manifest in Directory.GetFiles(Path.Combine(DeployDirectory, "kubernetes"), "*.yaml"))
            Assert.False(Regex.IsMatch(File.ReadAllText(manifest), @"^kind: Secret$", RegexOptions.Multiline), $"{Relative(manifest)}: a Secret with its values in the repository");
    }

    /// <summary>A password given as a value rather than a variable: a connection string's or env file's NAME=value, a
    /// YAML key that names a password, HOCON's password = "...", openssl's pass:value.</summary>
    static readonly Regex WrittenPassword = new(
        @"(?i)((?<![\w-])password=(?!\$)[^\s;""']+|^\s*#?\s*(export\s+)?\w*password=(?!\$)\S|^\s*-?\s*[\w-]*password[\w-]*:\s+(?![""']?\$)\S|^\s*password\s*=\s*""(?!"")|\bpass:(?!\$)\S)");

    [Fact]
    public void Compose_refuses_to_start_without_POSTGRES_PASSWORD()
    {
        var compose = File.ReadAllText(Path.Combine(DeployDirectory, "docker", "compose.yaml"));
        var uses = Regex.Matches(compose, @"^[^#\n]*\$\{?POSTGRES_PASSWORD(\S*)", RegexOptions.Multiline).ToList();
        Assert.True(uses.Count >= 2, "compose.yaml: expected POSTGRES_PASSWORD for the server and in the coordinator's connection string");
        foreach (var use in uses)
            Assert.True(use.Groups[1].Value.StartsWith(":?", StringComparison.Ordinal), $"compose.yaml: ${{POSTGRES_PASSWORD{use.Groups[1].Value} does not refuse to start when it is unset (use :?)");
        // And the coordinator's connection string carries it (the node is checked with the operator's stand-in).
        var coordinator = ComposeSetups().Single(s => s.Source.EndsWith(" coordinator", StringComparison.Ordinal));
        Assert.Contains($"Password={OperatorValue("POSTGRES_PASSWORD")}", coordinator.Environment["TRAINMANAGER_JOURNAL_CONNECTION"]);
    }

    [Fact]
    public void The_local_cluster_script_gives_PostgreSQL_a_random_password_and_the_nodes_a_cluster_secret()
    {
        var lines = File.ReadAllLines(Path.Combine(DeployDirectory, "local-cluster.sh")).Where(l => !l.TrimStart().StartsWith('#')).ToList();
        var code = string.Join("\n", lines);
        Assert.DoesNotMatch(@"\btrust\b", code);
        var initdb = Assert.Single(lines, l => l.Contains("\"$bin/initdb\""));
        Assert.Matches(@"-A (scram-sha-256|md5)\b", initdb);
        Assert.Contains("--pwfile=", initdb);
        Assert.Contains("/dev/urandom", code);
        Assert.Matches(@"journal=""[^""]*;Password=\$", code);
        // Secrets reach the nodes through their environment, not their command line.
        Assert.Matches(@"export TRAINMANAGER_JOURNAL_CONNECTION=", code);
        Assert.Matches(@"export TRAINMANAGER_SECRET_FILE=", code);
        Assert.DoesNotMatch(@"node_args\+?=\(.*(journal|password|JOURNAL_CONNECTION)", code);
        Assert.Matches(@"secret ""\$secret_file""", code);
    }

    [Fact]
    public void Operators_credential_files_stay_out_of_git_and_out_of_the_image()
    {
        var gitignore = File.ReadAllLines(Path.Combine(Root, ".gitignore"));
        var dockerignore = File.ReadAllLines(Path.Combine(DeployDirectory, "docker", "Dockerfile.dockerignore"));
        foreach (var pattern in new[] { "deploy/docker/.env", "deploy/kubernetes/secrets/", "*.secret", "*.pfx", "deploy/docker/ca/" })
            Assert.Contains(pattern, gitignore);
        foreach (var pattern in new[] { "deploy/docker/.env", "deploy/kubernetes/secrets/", "**/*.secret", "**/*.pfx", "deploy/docker/ca/" })
            Assert.Contains(pattern, dockerignore);
        // The operator's files are where those patterns cover them.
        var compose = File.ReadAllText(Path.Combine(DeployDirectory, "docker", "compose.yaml"));
        foreach (var file in new[] { "file: ./cluster.secret", "file: ./node.pfx", "file: ./ca/ca.crt" })
            Assert.Contains(file, compose);
        Assert.All(Regex.Matches(File.ReadAllText(Path.Combine(DeployDirectory, "kubernetes", "kustomization.yaml")), @"^\s+- [\w.-]+=(\S+)$", RegexOptions.Multiline),
            m => Assert.StartsWith("secrets/", m.Groups[1].Value));
    }

    // ---- data ------------------------------------------------------------------------------------------------------

    [Fact]
    public void Workers_may_read_data_where_the_deploy_files_put_it()
    {
        var parse = NodeParser.Load();
        var compose = File.ReadAllText(Path.Combine(DeployDirectory, "docker", "compose.yaml"));
        // Container paths that compose mounts (or offers to mount) for experiments and data sets.
        var composeData = Regex.Matches(compose, @"^\s*#?\s*- \S+:(/(?:experiments|usr/share/datasets)[^\s:]*)(?::ro)?\s*$", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        Assert.Contains("/experiments", composeData);
        Assert.Contains("/usr/share/datasets/fashion-mnist", composeData);
        var expected = new Dictionary<string, string[]>
        {
            ["systemd"] = ["/usr/share/datasets/fashion-mnist"],
            ["compose"] = composeData.ToArray(),
            ["kubernetes"] = ["/usr/share/datasets/fashion-mnist"],
        };
        var workers = 0;
        foreach (var setup in AllNodeSetups())
        {
            var config = Build(parse, setup);
            if (!config.GetStringList("akka.cluster.roles").Contains(NodeRoles.Worker))
                continue;
            workers++;
            var roots = TrainManagerSettings.From(config).DataRoots;
            foreach (var path in expected[setup.Group])
                Assert.True(roots.Any(r => path == r || path.StartsWith(r.TrimEnd('/') + "/", StringComparison.Ordinal)),
                    $"{setup.Source}: an experiment's data at {path} is outside the worker's data roots [{string.Join(", ", roots)}]");
        }
        Assert.True(workers >= 5, "expected the workers of every deploy method");
    }

    [Fact]
    public void Worker_pods_declare_each_slot_s_data_port_as_a_container_port()
    {
        // The ports are what a NetworkPolicy or a reader goes by: they must be the ones the node's slots listen on.
        var parse = NodeParser.Load();
        var workers = 0;
        foreach (var setup in KubernetesSetups())
        {
            var config = Build(parse, setup);
            if (!config.GetStringList("akka.cluster.roles").Contains(NodeRoles.Worker))
                continue;
            workers++;
            var settings = TrainManagerSettings.From(config);
            var manifest = File.ReadAllText(Path.Combine(Root, setup.Source.Split(' ')[0]));
            var declared = Regex.Matches(manifest, @"^\s+- name: (data[\w-]*)\s*\n\s+containerPort: (\d+)\s*$", RegexOptions.Multiline)
                .Select(m => int.Parse(m.Groups[2].Value)).ToList();
            Assert.True(settings.DataPort > 0, $"{setup.Source}: the data port is left to any free port; fix it (TRAINMANAGER_DATA_PORT) and declare it.");
            for (var slot = 0; slot < settings.Devices.Count; slot++)
                Assert.True(declared.Contains(settings.DataPort + slot),
                    $"{setup.Source}: slot {slot} listens on {settings.DataPort + slot}, which no containerPort named data declares ({string.Join(", ", declared)}).");
        }
        Assert.True(workers >= 2, "kubernetes/: expected the CPU and GPU worker workloads");
    }

    [Fact]
    public void Nodes_get_enough_time_to_hand_their_runs_back_before_they_are_killed()
    {
        // Trainer.Node gives its host the hand-back timeout plus 30 s to stop; whatever stops it must wait that long.
        var needed = TrainManagerSettings.From(ClusterConfiguration.Defaults).HandBackTimeout + TimeSpan.FromSeconds(30);
        var waits = new List<(string Where, TimeSpan Wait)>();
        foreach (var unit in Directory.GetFiles(Path.Combine(DeployDirectory, "systemd"), "*.service"))
            waits.Add((Relative(unit), TimeSpan.FromSeconds(int.Parse(UnitEntries(unit).Single(e => e.Key == "TimeoutStopSec").Value))));
        var compose = File.ReadAllText(Path.Combine(DeployDirectory, "docker", "compose.yaml"));
        waits.AddRange(Regex.Matches(compose, @"stop_grace_period:\s*(\d+)s").Select(m => ("compose.yaml", TimeSpan.FromSeconds(int.Parse(m.Groups[1].Value)))));
        foreach (var manifest in new[] { "worker.yaml", "worker-gpu.yaml" })
        {
            var text = File.ReadAllText(Path.Combine(DeployDirectory, "kubernetes", manifest));
            waits.Add((manifest, TimeSpan.FromSeconds(int.Parse(Regex.Match(text, @"terminationGracePeriodSeconds:\s*(\d+)").Groups[1].Value))));
        }
        var script = File.ReadAllText(Path.Combine(DeployDirectory, "local-cluster.sh"));
        waits.Add(("local-cluster.sh", TimeSpan.FromSeconds(int.Parse(Regex.Match(script, @"STOP_TIMEOUT:-(\d+)").Groups[1].Value))));

        Assert.True(waits.Count >= 6, "the stop timeouts were not all found");
        foreach (var (where, wait) in waits)
            Assert.True(wait >= needed, $"{where} kills a node after {wait.TotalSeconds} s, before its runs can be handed back ({needed.TotalSeconds} s).");
    }

    // ---- files that must exist, files that must parse -----------------------------------------------------------------

    [Fact]
    public void The_local_cluster_script_is_valid_bash()
    {
        var script = Path.Combine(DeployDirectory, "local-cluster.sh");
        using var process = Process.Start(new ProcessStartInfo("bash", ["-n", script]) { RedirectStandardError = true, UseShellExecute = false })!;
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"bash -n {Relative(script)}: {errors}");
    }

    [Fact]
    public void The_Dockerfile_copies_paths_that_exist_and_every_project_the_node_and_the_cli_are_built_from()
    {
        var dockerfile = Path.Combine(DeployDirectory, "docker", "Dockerfile");
        var copied = new List<string>();
        foreach (var line in File.ReadLines(dockerfile).Select(l => l.Trim()).Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from=")))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1]; // COPY SOURCE... DESTINATION
            foreach (var source in parts)
            {
                var path = Path.Combine(Root, source.TrimEnd('/'));
                Assert.True(File.Exists(path) || Directory.Exists(path), $"{Relative(dockerfile)} copies {source}, which the repository does not have.");
                copied.Add(source.TrimEnd('/'));
            }
        }
        foreach (var project in ProjectClosure("Trainer.Node/Trainer.Node.csproj", "Cli/Cli.csproj"))
        {
            Assert.True(copied.Contains(project), $"{Relative(dockerfile)} restores before copying {project}.");
            var folder = Path.GetDirectoryName(project)!.Replace('\\', '/');
            Assert.True(copied.Any(c => folder == c || folder.StartsWith(c + "/", StringComparison.Ordinal)), $"{Relative(dockerfile)} never copies the sources of {folder}.");
        }
        foreach (var needed in new[] { "Directory.Build.props", "Directory.Packages.props", "cluster.hocon" })
            Assert.Contains(needed, copied);
    }

    [Fact]
    public void The_yaml_files_are_well_formed_and_each_manifest_names_its_kind()
    {
        foreach (var file in DeployFiles().Where(f => f.EndsWith(".yaml", StringComparison.Ordinal)))
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                Assert.False(lines[i].Contains('\t'), $"{Relative(file)}:{i + 1}: a tab (YAML indents with spaces)");
                var indent = lines[i].Length - lines[i].TrimStart(' ').Length;
                Assert.True(lines[i].Trim().Length == 0 || indent % 2 == 0, $"{Relative(file)}:{i + 1}: indented by {indent} spaces");
            }
        }

        var kubernetes = Path.Combine(DeployDirectory, "kubernetes");
        foreach (var file in Directory.GetFiles(kubernetes, "*.yaml"))
            foreach (var document in Documents(File.ReadAllText(file)))
            {
                Assert.Matches(new Regex(@"^apiVersion: \S+$", RegexOptions.Multiline), document);
                Assert.Matches(new Regex(@"^kind: [A-Z]\w+$", RegexOptions.Multiline), document);
            }

        // kustomization.yaml lists files that exist, and every manifest but the GPU workers (applied on their own).
        var resources = Regex.Matches(File.ReadAllText(Path.Combine(kubernetes, "kustomization.yaml")), @"^  - (\S+\.yaml)$", RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).ToList();
        foreach (var resource in resources)
            Assert.True(File.Exists(Path.Combine(kubernetes, resource)), $"kustomization.yaml names {resource}, which is not there");
        var manifests = Directory.GetFiles(kubernetes, "*.yaml").Select(Path.GetFileName).Where(n => n is not ("kustomization.yaml" or "worker-gpu.yaml"));
        Assert.Equal(manifests.Order(), resources.Order());
    }

    // ---- the node setups the deploy files describe --------------------------------------------------------------------

    /// <summary>One node as a deploy file starts it: its arguments, its environment and its configuration file.</summary>
    /// <param name="Group">The cluster it belongs to (one per deploy method).</param>
    /// <param name="ConfigFile">The file its --config names, as a path here (null: the arguments name none).</param>
    /// <param name="ProvidedSecretFiles">The files the deploy method itself puts secrets and certificates in for this node
    /// (a compose secret, a Kubernetes Secret's file, mounted or copied), or null where the operator installs them (systemd).</param>
    sealed record NodeSetup(string Group, string Source, IReadOnlyList<string> Args, IReadOnlyDictionary<string, string> Environment,
        string? ConfigFile, string ExpectedRunsDirectory, IReadOnlyList<string>? ProvidedSecretFiles = null);

    const string SecretFileVariable = "TRAINMANAGER_SECRET_FILE";

    /// <summary>A cluster secret made the way an operator makes one, standing in for the file the deploy files name.</summary>
    static readonly Lazy<string> StandInSecretFile = new(() =>
    {
        var folder = Directory.CreateTempSubdirectory("trainmanager-deploy-test-");
        var path = Path.Combine(folder.FullName, "cluster.secret");
        TrainManager.Protocol.Security.ClusterSecret.Create(path);
        return path;
    });

    /// <summary>The values an operator must supply before a deploy method starts (compose's ${NAME:?...}, the files of
    /// kustomization.yaml's secretGenerator), and what stands in for them here.</summary>
    static string OperatorValue(string name) => $"operator-set-{name}";

    static IEnumerable<NodeSetup> AllNodeSetups() => SystemdSetups().Concat(ComposeSetups()).Concat(KubernetesSetups());

    static Config Build(NodeParser parse, NodeSetup setup)
    {
        var (configFile, flags) = parse.Parse(setup.Args);
        Assert.True(configFile is null || setup.ConfigFile is not null, $"{setup.Source}: --config {configFile}, which the deploy files do not provide");
        // The secret file the deploy files name is the operator's (it does not exist here): a secret made by the test
        // stands in for it. A node that names none is a node of a real cluster that would refuse to start.
        Assert.True(setup.Environment.ContainsKey(SecretFileVariable) && flags.SecretFile is null,
            $"{setup.Source}: the node names no cluster secret file ({SecretFileVariable}); a node reachable from other machines refuses to start without one.");
        // Likewise the TLS files: where the deploy file names one (a variable or its cluster.hocon key), a CA and a
        // certificate made by the test stand in for the operator's.
        var named = TlsFiles.Where(f => setup.Environment.ContainsKey(f.Variable) || ConfigFileValue(setup, f.Key) is { Length: > 0 })
            .Select(f => f.Variable).ToHashSet(StringComparer.Ordinal);
        string? Lookup(string name) => name switch
        {
            SecretFileVariable => StandInSecretFile.Value,
            TlsCertificateVariable when named.Contains(name) => StandInTls.Value.Certificate,
            CaCertificateVariable when named.Contains(name) => StandInTls.Value.Authority,
            "TRAINMANAGER_TLS_PASSWORD" => null, // the stand-in certificate has none
            _ => setup.Environment.GetValueOrDefault(name),
        };
        Config config;
        try
        {
            config = ClusterConfiguration.Build(configFile is null ? null : setup.ConfigFile, flags.Over(ClusterOverrides.FromEnvironment(Lookup)));
        }
        catch (ClusterConfigurationException e)
        {
            throw new Xunit.Sdk.XunitException($"{setup.Source}: the node refuses its settings: {e.Message}");
        }
        if (!config.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl"))
            return config;
        foreach (var (variable, key) in TlsFiles)
            Assert.True(named.Contains(variable), $"{setup.Source}: TLS is on (its address or seeds are not loopback) but neither {variable} nor {key} names a file; the node would refuse to start.");
        try
        {
            Assert.NotNull(ClusterTls.SetupFor(config));
        }
        catch (ClusterConfigurationException e)
        {
            throw new Xunit.Sdk.XunitException($"{setup.Source}: the node's TLS check refuses its files: {e.Message}");
        }
        return config;
    }

    const string TlsCertificateVariable = "TRAINMANAGER_TLS_CERTIFICATE";
    const string CaCertificateVariable = "TRAINMANAGER_CA_CERTIFICATE";

    /// <summary>The two files a member with TLS on needs: its variable and its cluster.hocon key.</summary>
    static readonly (string Variable, string Key)[] TlsFiles =
    [
        (TlsCertificateVariable, "akka.remote.dot-netty.tcp.ssl.certificate.path"),
        (CaCertificateVariable, "trainmanager.security.ca-certificate"),
    ];

    /// <summary>A CA and a certificate it issued, made the way an operator makes them (trainmanager tls ca, tls certificate).</summary>
    static readonly Lazy<(string Certificate, string Authority)> StandInTls = new(() =>
    {
        var folder = Directory.CreateTempSubdirectory("trainmanager-deploy-test-tls-").FullName;
        var authority = Path.Combine(folder, "ca");
        ClusterTls.CreateAuthority(authority);
        var certificate = Path.Combine(folder, "node.pfx");
        ClusterTls.Issue(authority, certificate, "node", ["node"]).Dispose();
        return (certificate, Path.Combine(authority, ClusterTls.AuthorityCertificateFile));
    });

    /// <summary>A setting of the node's --config file (empty when unset or when it has none).</summary>
    static string ConfigFileValue(NodeSetup setup, string key) =>
        setup.ConfigFile is null ? "" : ConfigurationFactory.ParseString(File.ReadAllText(setup.ConfigFile)).GetString(key, "");

    /// <summary>The units with the example env files: the coordinator, and trainmanager-node@NAME for each other NAME.env.</summary>
    static IEnumerable<NodeSetup> SystemdSetups()
    {
        var folder = Path.Combine(DeployDirectory, "systemd");
        var instances = Directory.GetFiles(Path.Combine(folder, "etc"), "*.env").Select(Path.GetFileNameWithoutExtension)
            .Where(n => n is not ("cluster" or "coordinator")).Select(n => n!).ToList();
        Assert.NotEmpty(instances);
        var units = new List<(string Unit, string? Instance)> { ("trainmanager-coordinator.service", null) };
        units.AddRange(instances.Select(i => ("trainmanager-node@.service", (string?)i)));
        foreach (var (unit, instance) in units)
        {
            var path = Path.Combine(folder, unit);
            string Expand(string value) => value.Replace("%i", instance ?? "").Replace("%S", "/var/lib").Replace("%C", "/var/cache");
            var entries = UnitEntries(path).Select(e => (e.Key, Value: Expand(e.Value))).ToList();
            var environment = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, value) in entries.Where(e => e.Key == "Environment"))
            {
                var (name, text) = SplitAssignment(value);
                environment[name] = text;
            }
            // EnvironmentFile= values win over Environment=, in the order given; /etc/trainmanager/X.env is systemd/etc/X.env.
            foreach (var (_, value) in entries.Where(e => e.Key == "EnvironmentFile"))
            {
                var file = Path.Combine(folder, "etc", Path.GetFileName(value.TrimStart('-')));
                Assert.True(File.Exists(file), $"{unit} reads {value}; deploy/systemd/etc has no example of it");
                foreach (var (name, text) in EnvFile(file))
                    environment[name] = text;
            }
            var exec = entries.Single(e => e.Key == "ExecStart").Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var dll = Array.FindIndex(exec, t => t.EndsWith("/trainmanager-node.dll", StringComparison.Ordinal));
            Assert.True(dll > 0, $"{unit}: ExecStart does not run trainmanager-node.dll");
            var runs = entries.Single(e => e.Key == "ReadWritePaths").Value;
            yield return new NodeSetup("systemd", $"{unit} {instance}", exec[(dll + 1)..], environment,
                Path.Combine(Root, "cluster.hocon"), runs); // /etc/trainmanager/cluster.hocon is a copy of the repository's
        }
    }

    /// <summary>The compose services built on the node template (<c>&lt;&lt;: *node</c>), with the image's ENV defaults.</summary>
    static IEnumerable<NodeSetup> ComposeSetups()
    {
        var path = Path.Combine(DeployDirectory, "docker", "compose.yaml");
        var lines = File.ReadAllLines(path);
        var imageEnvironment = DockerfileEnvironment(Path.Combine(DeployDirectory, "docker", "Dockerfile"));
        var runs = Regex.Match(File.ReadAllText(path), @"^\s+- runs:(\S+)$", RegexOptions.Multiline).Groups[1].Value;
        var servicesAt = Array.IndexOf(lines, "services:");
        Assert.True(servicesAt >= 0, "compose.yaml has no services");
        // Secrets compose mounts at /run/secrets/NAME: declared at the top with a file (compose refuses to start without
        // it), and given to a service by the node template or by the service itself.
        var declaredSecrets = Regex.Matches(File.ReadAllText(path), @"^secrets:\s*\n((?:  .*\n|\s*\n)+)", RegexOptions.Multiline)
            .SelectMany(m => Regex.Matches(m.Groups[1].Value, @"^  ([\w.-]+):\s*\n    file: \S+", RegexOptions.Multiline)).Select(m => m.Groups[1].Value).ToHashSet();
        var templateAt = Array.FindIndex(lines, l => l.StartsWith("x-node: &node", StringComparison.Ordinal));
        Assert.True(templateAt >= 0, "compose.yaml has no node template");
        var templateSecrets = ListUnder(lines.Skip(templateAt + 1).TakeWhile(l => l.Trim().Length == 0 || l.StartsWith(' ') || l.StartsWith('#')), "  secrets:");
        var found = 0;
        for (var i = servicesAt + 1; i < lines.Length && !Regex.IsMatch(lines[i], @"^\S"); i++)
        {
            var header = Regex.Match(lines[i], @"^  ([\w.-]+):\s*$");
            if (!header.Success)
                continue;
            var block = lines.Skip(i + 1).TakeWhile(l => l.Trim().Length == 0 || l.StartsWith("    ", StringComparison.Ordinal) || l.TrimStart().StartsWith('#')).ToList();
            if (!block.Any(l => l.Trim() == "<<: *node"))
                continue;
            var environment = new Dictionary<string, string>(imageEnvironment, StringComparer.Ordinal);
            var inEnvironment = false;
            var args = new List<string>();
            foreach (var line in block)
            {
                if (line.StartsWith("    ", StringComparison.Ordinal) && !line.StartsWith("     ", StringComparison.Ordinal))
                    inEnvironment = line.Trim() == "environment:";
                var entry = Regex.Match(line, @"^      ([A-Z][A-Z0-9_]*):\s*(.*)$");
                if (inEnvironment && entry.Success)
                    environment[entry.Groups[1].Value] = ComposeInterpolate(YamlScalar(entry.Groups[2].Value));
                var command = Regex.Match(line, @"^    command:\s*\[(.*)\]\s*$");
                if (command.Success)
                    args.AddRange(QuotedItems(command.Groups[1].Value));
            }
            var secrets = templateSecrets.Concat(ListUnder(block, "    secrets:")).Where(declaredSecrets.Contains).Select(n => $"/run/secrets/{n}").ToList();
            found++;
            yield return new NodeSetup("compose", $"compose.yaml service {header.Groups[1].Value}", args, environment, null, runs, secrets);
        }
        Assert.True(found >= 3, "compose.yaml: expected a coordinator and two workers built on the node template");
    }

    /// <summary>The text of one compose service, its header excluded.</summary>
    static string ComposeService(string name)
    {
        var lines = File.ReadAllLines(Path.Combine(DeployDirectory, "docker", "compose.yaml"));
        var at = Array.IndexOf(lines, $"  {name}:");
        Assert.True(at >= 0, $"compose.yaml has no service {name}");
        return string.Join('\n', lines.Skip(at + 1).TakeWhile(l => l.Trim().Length == 0 || l.StartsWith("    ", StringComparison.Ordinal) || l.TrimStart().StartsWith('#'))) + "\n";
    }

    /// <summary>The items of a block list right under <paramref name="key"/> (a line exactly that, indentation included).</summary>
    static IEnumerable<string> ListUnder(IEnumerable<string> lines, string key) =>
        lines.SkipWhile(l => l.TrimEnd() != key).Skip(1).TakeWhile(l => Regex.IsMatch(l, @"^\s+- ")).Select(l => l.Trim()[2..].Trim()).ToList();

    /// <summary>The Deployments and StatefulSets that run the node, with the ConfigMap's cluster.hocon and the Secret's values.</summary>
    static IEnumerable<NodeSetup> KubernetesSetups()
    {
        var folder = Path.Combine(DeployDirectory, "kubernetes");
        var configMap = File.ReadAllText(Path.Combine(folder, "configmap.yaml"));
        var hocon = BlockScalar(configMap, "cluster.hocon");
        var configFile = Path.Combine(Path.GetTempPath(), "trainmanager-deploy-test-configmap.hocon");
        File.WriteAllText(configFile, hocon);
        var generated = GeneratedSecrets();
        Assert.NotEmpty(generated);
        var imageEnvironment = DockerfileEnvironment(Path.Combine(DeployDirectory, "docker", "Dockerfile"));
        var found = 0;
        foreach (var file in Directory.GetFiles(folder, "*.yaml").Order())
            foreach (var document in Documents(File.ReadAllText(file)))
            {
                if (!Regex.IsMatch(document, @"^kind: (Deployment|StatefulSet)$", RegexOptions.Multiline) || !document.Contains("TRAINMANAGER_"))
                    continue;
                var name = Regex.Match(document, @"^metadata:\s*\n  name: (\S+)", RegexOptions.Multiline).Groups[1].Value;
                var fields = new Dictionary<string, string>
                {
                    ["metadata.name"] = name + "-0", // a StatefulSet's first pod
                    ["metadata.namespace"] = "trainmanager",
                    ["status.podIP"] = "10.244.1.7",
                };
                var environment = new Dictionary<string, string>(imageEnvironment, StringComparer.Ordinal);
                foreach (var (variable, value, field, secretName, secretKey) in PodEnvironment(document))
                {
                    if (secretKey is not null)
                        Assert.True(secretName is not null && generated.Contains((secretName, secretKey)),
                            $"{Relative(file)} {name} {variable}: the Secret {secretName} key {secretKey} is not made by kustomization.yaml's secretGenerator");
                    var text = value is not null ? KubernetesExpand(value, environment, $"{Relative(file)} {name} {variable}")
                        : field is not null ? fields[field]
                        : secretKey is not null ? OperatorValue(secretKey)
                        : throw new InvalidOperationException($"{Relative(file)}: {variable} has no value");
                    environment[variable] = text;
                }
                // Files copied by an init container from a volume of a generated Secret into the pod.
                var secretVolumes = Regex.Matches(document, @"- name: (\S+)\s*\n\s+secret:\s*\n\s+secretName: (\S+)")
                    .Where(m => generated.Any(g => g.Name == m.Groups[2].Value)).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
                var mounts = Regex.Matches(document, @"- name: (\S+)\s*\n\s+mountPath: (\S+)").Select(m => (Volume: m.Groups[1].Value, Path: m.Groups[2].Value)).ToList();
                var provided = Regex.Matches(document, @"^\s+command:\s*\[(.*)\]\s*$", RegexOptions.Multiline)
                    .Select(m => QuotedItems(m.Groups[1].Value).ToList())
                    .Where(c => c.Count >= 3 && c[0] == "install" && mounts.Any(v => secretVolumes.ContainsKey(v.Volume) && c[^2].StartsWith(v.Path + "/", StringComparison.Ordinal)))
                    .Select(c => c[^1]).ToList();
                // Files of a generated Secret mounted as they are into the node's container (not only its init container).
                var nodeContainer = Regex.Match(document, @"^      containers:\s*\n((?:        .*\n|\s*\n)+)", RegexOptions.Multiline).Groups[1].Value;
                provided.AddRange(Regex.Matches(nodeContainer, @"- name: (\S+)\s*\n\s+mountPath: (\S+)")
                    .Where(m => secretVolumes.ContainsKey(m.Groups[1].Value))
                    .SelectMany(m => generated.Where(g => g.Name == secretVolumes[m.Groups[1].Value]).Select(g => $"{m.Groups[2].Value}/{g.Key}")));
                var args = Regex.Matches(document, @"^\s+args:\s*\[(.*)\]\s*$", RegexOptions.Multiline).SelectMany(m => QuotedItems(m.Groups[1].Value)).ToList();
                var runs = Regex.Match(document, @"- name: runs\s*\n\s+mountPath: (\S+)").Groups[1].Value;
                found++;
                Assert.True(args.Contains("/etc/trainmanager/cluster.hocon") && document.Contains("mountPath: /etc/trainmanager\n"),
                    $"{Relative(file)} {name}: the ConfigMap is mounted at /etc/trainmanager and given with --config");
                yield return new NodeSetup("kubernetes", $"{Relative(file)} {name}", args.Select(a => a == "/etc/trainmanager/cluster.hocon" ? configFile : a).ToList(),
                    environment, configFile, runs, provided);
            }
        Assert.True(found >= 3, "kubernetes/: expected coordinator, worker and GPU worker workloads");
    }

    // ---- small readers for the formats of deploy/ -------------------------------------------------------------------

    /// <summary>Key=Value lines of a unit file (comments and section headers skipped; repeated keys kept in order).</summary>
    static IEnumerable<KeyValuePair<string, string>> UnitEntries(string path) =>
        File.ReadLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && l[0] is not ('#' or ';' or '['))
            .Select(l => new KeyValuePair<string, string>(l[..l.IndexOf('=')], l[(l.IndexOf('=') + 1)..]));

    /// <summary>A systemd EnvironmentFile: NAME=VALUE lines, # and ; comments, optional quotes.</summary>
    static IEnumerable<(string Name, string Value)> EnvFile(string path) =>
        File.ReadLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && l[0] is not ('#' or ';')).Select(SplitAssignment);

    static (string Name, string Value) SplitAssignment(string text)
    {
        var at = text.IndexOf('=');
        Assert.True(at > 0, $"'{text}' is not NAME=VALUE");
        return (text[..at], text[(at + 1)..].Trim('"'));
    }

    /// <summary>The Dockerfile's ENV NAME=VALUE pairs (continued lines joined).</summary>
    static Dictionary<string, string> DockerfileEnvironment(string path)
    {
        var text = Regex.Replace(File.ReadAllText(path), @"\\\n\s*", " ");
        return Regex.Matches(text, @"^ENV (.+)$", RegexOptions.Multiline)
            .SelectMany(m => m.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(SplitAssignment).ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
    }

    /// <summary>The (Secret, key) pairs kustomization.yaml's secretGenerator makes from the operator's files.</summary>
    static HashSet<(string Name, string Key)> GeneratedSecrets()
    {
        var text = File.ReadAllText(Path.Combine(DeployDirectory, "kubernetes", "kustomization.yaml"));
        var generator = Regex.Match(text, @"^secretGenerator:\s*\n((?:[ -].*\n)+)", RegexOptions.Multiline);
        Assert.True(generator.Success, "kustomization.yaml has no secretGenerator");
        return Regex.Matches(generator.Groups[1].Value, @"- name: (\S+)\s*\n\s+files:\s*\n((?:\s+- \S+\s*\n)+)")
            .SelectMany(m => Regex.Matches(m.Groups[2].Value, @"- ([\w.-]+)=\S+").Select(k => (m.Groups[1].Value, k.Groups[1].Value))).ToHashSet();
    }

    /// <summary>A pod's env entries: name with value, fieldRef path or Secret key.</summary>
    static IEnumerable<(string Name, string? Value, string? Field, string? SecretName, string? SecretKey)> PodEnvironment(string document)
    {
        var lines = document.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var env = Regex.Match(lines[i], @"^(\s*)env:\s*$");
            if (!env.Success)
                continue;
            var indent = env.Groups[1].Value.Length;
            for (i++; i < lines.Length && (lines[i].Trim().Length == 0 || Indent(lines[i]) > indent); i++)
            {
                var item = Regex.Match(lines[i], @"^\s*- name: (\S+)\s*$");
                if (!item.Success)
                    continue;
                string? value = null, field = null, key = null, secretName = null;
                for (var j = i + 1; j < lines.Length && Indent(lines[j]) > Indent(lines[i]) + 1 && !lines[j].TrimStart().StartsWith('-'); j++)
                {
                    var entry = Regex.Match(lines[j], @"^\s*(value|fieldPath|key|name):\s*(.*)$");
                    if (!entry.Success)
                        continue;
                    var text = YamlScalar(entry.Groups[2].Value);
                    if (entry.Groups[1].Value == "value")
                        value = text;
                    else if (entry.Groups[1].Value == "fieldPath")
                        field = text;
                    else if (entry.Groups[1].Value == "name")
                        secretName = text;
                    else
                        key = text;
                }
                yield return (item.Groups[1].Value, value, field, secretName, key);
            }
            i--;
        }
    }

    static int Indent(string line) => line.Length - line.TrimStart(' ').Length;

    /// <summary>The text of a <c>key: |</c> block scalar, de-indented.</summary>
    static string BlockScalar(string yaml, string key)
    {
        var lines = yaml.Split('\n');
        var at = Array.FindIndex(lines, l => Regex.IsMatch(l, $@"^\s*{Regex.Escape(key)}: \|\s*$"));
        Assert.True(at >= 0, $"no block '{key}: |'");
        var body = lines.Skip(at + 1).TakeWhile(l => l.Trim().Length == 0 || Indent(l) > Indent(lines[at])).ToList();
        var indent = body.Where(l => l.Trim().Length > 0).Min(Indent);
        return string.Join('\n', body.Select(l => l.Length >= indent ? l[indent..] : ""));
    }

    static IEnumerable<string> Documents(string yaml) =>
        Regex.Split(yaml, @"^---\s*$", RegexOptions.Multiline).Where(d => Regex.IsMatch(d, @"^\w", RegexOptions.Multiline));

    /// <summary>A plain or quoted YAML scalar, its comment removed.</summary>
    static string YamlScalar(string text)
    {
        text = text.Trim();
        if (text.Length > 1 && text[0] is '"' or '\'')
            return text[1..text.IndexOf(text[0], 1)];
        var comment = text.IndexOf(" #", StringComparison.Ordinal);
        return (comment >= 0 ? text[..comment] : text).Trim();
    }

    static IEnumerable<string> QuotedItems(string flowList) => Regex.Matches(flowList, "\"([^\"]*)\"").Select(m => m.Groups[1].Value);

    /// <summary>Compose's ${NAME:-default} (this test has no such variables set: the default), ${NAME:?error} (one the
    /// operator must set: a stand-in), and $$ for $.</summary>
    static string ComposeInterpolate(string text) =>
        Regex.Replace(text, @"\$\{(\w+)(?::?([-?])([^}]*))?\}", m => m.Groups[2].Value == "?" ? OperatorValue(m.Groups[1].Value) : m.Groups[3].Value).Replace("$$", "$");

    /// <summary>Kubernetes' $(NAME) in a value: a variable defined earlier in the same env list.</summary>
    static string KubernetesExpand(string text, IReadOnlyDictionary<string, string> defined, string where) =>
        Regex.Replace(text, @"\$\((\w+)\)", m => defined.TryGetValue(m.Groups[1].Value, out var value) ? value
            : throw new Xunit.Sdk.XunitException($"{where}: $({m.Groups[1].Value}) is not defined before its use (Kubernetes would leave it as it is)"));

    static IEnumerable<string> Flags(string line) =>
        Regex.Matches(line, @"(?<![\w-])--[a-z][a-z0-9-]*").Select(m => m.Value);

    static string SampleValue(string flag) => flag switch
    {
        "--port" => "4054",
        "--data-port" => "5001",
        "--seed-nodes" => "127.0.0.1:4053",
        "--devices" => "cpu",
        "--roles" => "worker",
        "--store" => "postgresql",
        _ => "value",
    };

    // ---- the code the deploy files are checked against ------------------------------------------------------------------

    /// <summary>The flags Trainer.Node's command line parser handles (its <c>case "--flag"</c> labels).</summary>
    static HashSet<string> NodeFlags()
    {
        var source = File.ReadAllText(Path.Combine(Root, "Trainer.Node", "NodeCommandLine.cs"));
        var flags = Regex.Matches(source, @"^\s*case\s+(.+):\s*$", RegexOptions.Multiline)
            .SelectMany(m => Regex.Matches(m.Groups[1].Value, "\"(--[a-z][a-z-]*)\"")).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("--seed-nodes", flags);
        return flags;
    }

    /// <summary>The options of the trainmanager CLI's verbs (their [CommandOption] templates).</summary>
    static IEnumerable<string> CliFlags() =>
        Directory.GetFiles(Path.Combine(Root, "Cli"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => Regex.Matches(File.ReadAllText(f), "CommandOption\\(\"([^\"]+)\"\\)"))
            .SelectMany(m => Regex.Matches(m.Groups[1].Value, "--[a-z][a-z0-9-]*")).Select(m => m.Value);

    /// <summary>The project files (relative, '/'-separated) the given projects are built from, themselves included.</summary>
    static IReadOnlyList<string> ProjectClosure(params string[] projects)
    {
        var seen = new List<string>();
        var queue = new Queue<string>(projects);
        while (queue.TryDequeue(out var project))
        {
            if (seen.Contains(project))
                continue;
            seen.Add(project);
            var directory = Path.GetDirectoryName(Path.Combine(Root, project))!;
            foreach (Match reference in Regex.Matches(File.ReadAllText(Path.Combine(Root, project)), "<ProjectReference Include=\"([^\"]+)\""))
                queue.Enqueue(Path.GetRelativePath(Root, Path.GetFullPath(Path.Combine(directory, reference.Groups[1].Value))).Replace('\\', '/'));
        }
        return seen;
    }

    static IEnumerable<string> ProductSources() =>
        new[] { "Cli", "Coordinator", "Protocol", "Trainer.Node", "Trainer.Core", "Trainer.Stages", "Trainer.Native", "Extensions" }
            .SelectMany(d => Directory.GetFiles(Path.Combine(Root, d), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"));

    static IEnumerable<string> DeployFiles() => Directory.GetFiles(DeployDirectory, "*", SearchOption.AllDirectories).Order();

    static string Relative(string path) => Path.GetRelativePath(Root, path);

    static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "TrainManager.sln")))
                return directory.FullName;
        throw new DirectoryNotFoundException($"No TrainManager.sln above {AppContext.BaseDirectory}.");
    }
}
