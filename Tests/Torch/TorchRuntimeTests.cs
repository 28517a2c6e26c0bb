using TorchSharp;
using TrainManager.Runtime;

namespace TrainManager.Tests.Torch;

public sealed class TorchRuntimeTests
{
    [Fact]
    public void After_EnsureLoaded_a_tensor_operation_runs_natively()
    {
        TorchRuntime.EnsureLoaded();

        using var values = torch.arange(5, dtype: torch.ScalarType.Float32);
        using var sum = values.sum();

        Assert.Equal(10f, sum.item<float>());
    }

    [Fact]
    public void Calling_EnsureLoaded_again_does_nothing_and_logs_nothing()
    {
        var lines = new List<string>();

        TorchRuntime.EnsureLoaded(lines.Add);
        TorchRuntime.EnsureLoaded(lines.Add);

        Assert.Empty(lines);
    }

    [Fact]
    public void Describe_reports_the_TorchSharp_and_libtorch_versions()
    {
        var description = TorchRuntime.Describe();

        Assert.Equal("0.107.0", description.TorchSharpVersion);
        Assert.StartsWith("2.", description.LibTorchVersion);
        Assert.Equal(description.CudaAvailable, description.CudaDeviceCount > 0);
        Assert.Contains("TorchSharp 0.107.0", description.ToString());
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData(" CPU ")]
    public void Cpu_names_parse_to_the_cpu_device(string name)
    {
        Assert.Equal(DeviceType.CPU, TorchDevice.Parse(name).type);
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:one")]
    public void Malformed_device_names_are_rejected_with_the_accepted_forms(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => TorchDevice.Parse(name));

        Assert.Contains("\"cuda:N\"", error.Message);
    }

    [Fact]
    public void Asking_for_cuda_gives_a_cuda_device_or_says_why_it_cannot()
    {
        if (torch.cuda.is_available())
        {
            var device = TorchDevice.Parse("cuda:0");
            Assert.Equal((DeviceType.CUDA, 0), (device.type, device.index));
        }
        else
        {
            var error = Assert.Throws<DeviceUnavailableException>(() => TorchDevice.Parse("cuda"));
            Assert.Contains("CUDA is not available", error.Message);
            Assert.Contains("\"cpu\"", error.Message);
        }
    }
}
