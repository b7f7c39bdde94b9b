"""A small fully connected sigmoid network trained by mini-batch SGD.

This follows the design of the first network in Michael Nielsen's
"Neural Networks and Deep Learning" (chapter 1): every layer is
``a' = sigmoid(W a + b)``, the cost is the quadratic cost
``C = 1/2 |y - a|^2`` averaged over a mini-batch, and the gradient comes
from backpropagation.  It is written from scratch in plain numpy; the only
real departure is that a whole mini-batch is pushed through the network at
once as a matrix (one column per example) instead of one example at a
time, which makes training on the 8x8 digits take well under a second.

Conventions
-----------
* ``weights[l]`` has shape ``(n_out, n_in)`` and ``biases[l]`` has shape
  ``(n_out, 1)``, so a batch of column vectors ``A`` of shape ``(n_in, m)``
  maps to ``sigmoid(weights[l] @ A + biases[l])``.
* ``training_data`` is a pair ``(X, Y)``: ``X`` of shape ``(N, n_in)``, one
  example per row, and ``Y`` of shape ``(N, n_out)``, the one-hot targets.
* ``test_data`` is a pair ``(X, labels)`` with integer class labels.
"""

from __future__ import annotations

import numpy as np


def sigmoid(z):
    """Logistic function, elementwise."""
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    """Derivative of the logistic function, elementwise."""
    s = sigmoid(z)
    return s * (1.0 - s)


class QuadraticCost:
    """C = 1/2 |a - y|^2 per example."""

    @staticmethod
    def value(a, y):
        return 0.5 * float(np.sum((a - y) ** 2)) / a.shape[1]

    @staticmethod
    def delta(z, a, y):
        # dC/dz for the output layer: (a - y) * sigmoid'(z)
        return (a - y) * sigmoid_prime(z)


class CrossEntropyCost:
    """C = -sum(y ln a + (1 - y) ln(1 - a)) per example (optional)."""

    @staticmethod
    def value(a, y):
        a = np.clip(a, 1e-12, 1.0 - 1e-12)
        return float(-np.sum(y * np.log(a) + (1 - y) * np.log(1 - a))) / a.shape[1]

    @staticmethod
    def delta(z, a, y):
        # The sigmoid'(z) factor cancels for cross-entropy.
        return a - y


class Network:
    def __init__(self, sizes, seed=0, cost=QuadraticCost):
        """``sizes`` lists the neurons per layer, input layer first,
        e.g. ``[64, 30, 10]``.  Weights and biases start as independent
        standard normal draws from ``np.random.default_rng(seed)``."""
        self.sizes = list(sizes)
        self.num_layers = len(self.sizes)
        self.cost = cost
        self.rng = np.random.default_rng(seed)
        self.biases = [self.rng.standard_normal((n, 1)) for n in self.sizes[1:]]
        self.weights = [
            self.rng.standard_normal((n_out, n_in))
            for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])
        ]

    # -- inference ---------------------------------------------------------

    def feedforward(self, a):
        """Network output for ``a``: either one column vector of shape
        ``(n_in, 1)`` or a batch of columns ``(n_in, m)``."""
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(w @ a + b)
        return a

    def predict(self, X):
        """Class index for each row of ``X`` (shape ``(N, n_in)``)."""
        return np.argmax(self.feedforward(np.asarray(X, dtype=np.float64).T), axis=0)

    def evaluate(self, test_data):
        """Number of test examples whose highest output is the true label."""
        X, labels = test_data
        return int(np.sum(self.predict(X) == np.asarray(labels)))

    # -- training ----------------------------------------------------------

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None,
            verbose=True):
        """Mini-batch stochastic gradient descent.

        Each epoch shuffles the training set, splits it into mini-batches
        of ``mini_batch_size`` and takes one gradient step of size ``eta``
        per batch.  With ``test_data`` the test accuracy is reported after
        every epoch.  Returns the list of per-epoch test accuracies (empty
        without test data)."""
        X, Y = (np.asarray(t, dtype=np.float64) for t in training_data)
        n = X.shape[0]
        history = []
        for epoch in range(epochs):
            order = self.rng.permutation(n)
            for start in range(0, n, mini_batch_size):
                idx = order[start:start + mini_batch_size]
                self.update_mini_batch((X[idx], Y[idx]), eta)
            if test_data is not None:
                n_test = len(test_data[1])
                correct = self.evaluate(test_data)
                history.append(correct / n_test)
                if verbose:
                    print(f"epoch {epoch + 1:3d}: {correct} / {n_test} "
                          f"({correct / n_test:.4f})")
            elif verbose:
                print(f"epoch {epoch + 1:3d} complete")
        return history

    def update_mini_batch(self, mini_batch, eta):
        """One gradient-descent step on the batch ``(X, Y)`` (rows are
        examples), using the gradient averaged over the batch."""
        X, Y = mini_batch
        m = X.shape[0]
        nabla_b, nabla_w = self.backprop(X.T, Y.T)
        self.weights = [w - (eta / m) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / m) * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        """Gradient of the cost summed over the columns of ``x`` / ``y``.

        ``x`` has shape ``(n_in, m)`` and ``y`` shape ``(n_out, m)``.
        Returns ``(nabla_b, nabla_w)``, lists shaped like ``biases`` and
        ``weights``."""
        # Forward pass, keeping every weighted input z and activation a.
        activation = x
        activations = [x]
        zs = []
        for b, w in zip(self.biases, self.weights):
            z = w @ activation + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)

        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)

        # Output error, then propagate it backwards layer by layer.
        delta = self.cost.delta(zs[-1], activations[-1], y)
        nabla_b[-1] = delta.sum(axis=1, keepdims=True)
        nabla_w[-1] = delta @ activations[-2].T
        for l in range(2, self.num_layers):
            delta = (self.weights[-l + 1].T @ delta) * sigmoid_prime(zs[-l])
            nabla_b[-l] = delta.sum(axis=1, keepdims=True)
            nabla_w[-l] = delta @ activations[-l - 1].T
        return nabla_b, nabla_w

    def total_cost(self, data):
        """Average cost over ``(X, Y)`` with one-hot ``Y``."""
        X, Y = data
        a = self.feedforward(np.asarray(X, dtype=np.float64).T)
        return self.cost.value(a, np.asarray(Y, dtype=np.float64).T)
