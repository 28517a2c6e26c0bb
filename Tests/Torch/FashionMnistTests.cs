using System.Net;
using System.Net.Sockets;
using TrainManager.Data;

namespace TrainManager.Tests.Torch;

public sealed class FashionMnistTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("tm-fmnist-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    FashionMnistOptions Nowhere(bool allowDownload = false) => new()
    {
        CacheDirectory = Path.Combine(_directory, "cache"),
        SystemDirectories = [Path.Combine(_directory, "system")],
        AllowDownload = allowDownload,
    };

    [Fact]
    public void A_configured_path_holding_the_files_is_used()
    {
        var located = FashionMnist.Locate(Nowhere() with { Path = TestPaths.FashionMnistSlice });

        Assert.Equal(TestPaths.FashionMnistSlice, located);
    }

    [Fact]
    public void Loading_the_test_split_from_a_configured_path_gives_its_examples()
    {
        using var data = FashionMnist.Load(FashionMnistSplit.Test, Nowhere() with { Path = TestPaths.FashionMnistSlice });

        Assert.Equal(500, data.Count);
    }

    [Fact]
    public void A_configured_path_without_the_files_is_an_error_rather_than_a_silent_fallback()
    {
        var error = Assert.Throws<DatasetNotFoundException>(() =>
            FashionMnist.Locate(Nowhere() with { Path = _directory, SystemDirectories = [TestPaths.FashionMnistSlice] }));

        Assert.Contains("data.path", error.Message);
        Assert.Contains("train-images-idx3-ubyte", error.Message);
    }

    [Fact]
    public void The_cache_is_preferred_to_the_system_folder()
    {
        var cache = Path.Combine(_directory, "cache");
        Directory.CreateDirectory(cache);
        foreach (var file in Directory.GetFiles(TestPaths.FashionMnistSlice, "*.gz"))
            File.Copy(file, Path.Combine(cache, Path.GetFileName(file)));

        var located = FashionMnist.Locate(Nowhere() with { SystemDirectories = [TestPaths.FashionMnistSlice] });

        Assert.Equal(cache, located);
    }

    [Fact]
    public void When_found_nowhere_the_error_names_the_Debian_package_and_the_data_path_option()
    {
        var error = Assert.Throws<DatasetNotFoundException>(() => FashionMnist.Locate(Nowhere()));

        Assert.Contains("dataset-fashion-mnist", error.Message);
        Assert.Contains("data.path", error.Message);
        Assert.Contains(Path.Combine(_directory, "system"), error.Message);
    }

    [Fact]
    public void A_download_with_the_wrong_checksum_is_rejected_and_nothing_lands_in_the_cache()
    {
        using var server = new StaticServer("not the real file");
        var progress = new List<DownloadProgress>();

        var error = Assert.Throws<DatasetNotFoundException>(() => FashionMnist.Locate(
            Nowhere(allowDownload: true) with { DownloadSources = [server.Address], Progress = progress.Add }));

        Assert.Contains("MD5", error.Message);
        Assert.NotEmpty(progress);
        Assert.Empty(Directory.GetFiles(Path.Combine(_directory, "cache")));
    }

    /// <summary>Serves the same body for every GET on a free localhost port.</summary>
    sealed class StaticServer : IDisposable
    {
        readonly HttpListener _listener = new();
        readonly byte[] _body;

        public StaticServer(string body)
        {
            _body = System.Text.Encoding.UTF8.GetBytes(body);
            int port;
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                port = ((IPEndPoint)probe.LocalEndpoint).Port;
            }
            Address = new Uri($"http://127.0.0.1:{port}/");
            _listener.Prefixes.Add(Address.ToString());
            _listener.Start();
            _ = Task.Run(Serve);
        }

        public Uri Address { get; }

        async Task Serve()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await _listener.GetContextAsync(); }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
                context.Response.ContentLength64 = _body.Length;
                await context.Response.OutputStream.WriteAsync(_body);
                context.Response.Close();
            }
        }

        public void Dispose() => _listener.Close();
    }
}
